/**
 * Issue 18: log search through the API — `grep`, `instance`, `since` — and structured JSON lines
 * arrive with their parsed fields.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { MemoryEngine } from "../../src/engine/memory/memory-engine.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";

let t: TestDaemon;
before(async () => {
  t = await startTestDaemon();
});
after(() => t.close());

test("grep, instance and structured fields", async () => {
  const bp = "version: 1\nproject: logsy\nservices:\n  api: { type: web, start: node s.js, replicas: 2 }\n";
  const dir = writeProject(join(tempDir(), "logsy"), bp, { "s.js": "" });
  assert.equal((await t.request("POST", "/v1/sync", { environment: "production", blueprint: bp, sourceDir: dir })).status, 202);
  await t.daemon.reconciler.whenIdle();
  const engine = t.daemon.engine as MemoryEngine;
  const ref = { project: "logsy", environment: "production", service: "api" };
  const [a, b] = (await engine.actual(ref))[0]!.instances;
  engine.writeLog(ref, a!.id, JSON.stringify({ level: "error", msg: "payment failed", orderId: 42 }));
  engine.writeLog(ref, a!.id, "plain text from a");
  engine.writeLog(ref, b!.id, "plain text from b");
  const read = async (q: string) =>
    (await t.daemon.api.inject({ method: "GET", url: `/v1/projects/logsy/environments/production/services/api/logs?${q}`, headers: { authorization: `Bearer ${t.token}` } })).body
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { instance: string; line: string; fields?: Record<string, unknown> });
  const lines = await read("since=1h");
  assert.equal(lines.length, 3);
  assert.deepEqual(lines.find((l) => l.fields)!.fields, { level: "error", msg: "payment failed", orderId: 42 });
  assert.deepEqual((await read("grep=plain")).map((l) => l.line).sort(), ["plain text from a", "plain text from b"]);
  assert.deepEqual((await read(`instance=${b!.id}`)).map((l) => l.line), ["plain text from b"]);
});
