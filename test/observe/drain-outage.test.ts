/**
 * Issue 18, acceptance: a log drain whose receiver is down for 30 s and then comes back receives
 * every line, in order (the drain's bounded buffer holds them and retries). Also: a structured
 * JSON line arrives with its fields, and the outage and recovery are events.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { MemoryEngine } from "../../src/engine/memory/memory-engine.ts";
import type { DrainRecord } from "../../src/observe/drains/queue.ts";
import { eventually } from "../../src/router/test-helpers.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";

const received: DrainRecord[] = [];
let server: Server | undefined;
let port = 0;
let t: TestDaemon;

async function listen(): Promise<void> {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString("utf8");
    });
    req.on("end", () => {
      for (const l of body.split("\n").filter(Boolean)) received.push(JSON.parse(l) as DrainRecord);
      res.end();
    });
  });
  await new Promise<void>((r) => server!.listen(port, "127.0.0.1", r));
  port = (server.address() as { port: number }).port;
}

async function down(): Promise<void> {
  await new Promise<void>((r) => {
    server!.closeAllConnections();
    server!.close(() => r());
  });
}

before(async () => {
  await listen();
  t = await startTestDaemon({ observe: { drainRetryMs: 250 } });
});
after(async () => {
  await t?.close();
  if (server?.listening) await down();
});

test("a receiver down for 30 s gets every line in order once it is back", { timeout: 90_000 }, async () => {
  const blueprint = `version: 1
project: drained
services:
  api: { type: web, start: node server.js }
logDrains:
  - { type: http, url: "http://127.0.0.1:${port}/ingest" }
`;
  const dir = writeProject(join(tempDir(), "drained"), blueprint, { "server.js": "" });
  assert.equal((await t.request("POST", "/v1/sync", { environment: "production", blueprint, sourceDir: dir })).status, 202);
  await t.daemon.reconciler.whenIdle();
  const engine = t.daemon.engine as MemoryEngine;
  const ref = { project: "drained", environment: "production", service: "api" };
  const inst = (await engine.actual(ref))[0]!.instances[0]!;
  t.daemon.observe.drains.refresh();
  await new Promise((r) => setTimeout(r, 200)); // the follower is attached

  let n = 0;
  const write = (count: number) => {
    for (let i = 0; i < count; i++) engine.writeLog(ref, inst.id, n++ === 0 ? JSON.stringify({ level: "info", msg: "structured", n: 0 }) : `line ${n - 1}`);
  };
  write(20);
  await eventually(() => received.length === 20, 10_000);

  await down();
  const downAt = Date.now();
  while (Date.now() - downAt < 30_000) {
    write(10); // 10 lines every half second while the receiver is down
    await new Promise((r) => setTimeout(r, 500));
  }
  await listen();
  write(20);
  await eventually(() => received.length === n, 30_000, 100);
  assert.deepEqual(
    received.map((r) => r.message),
    Array.from({ length: n }, (_, i) => (i === 0 ? JSON.stringify({ level: "info", msg: "structured", n: 0 }) : `line ${i}`)),
    "every line, in order, once",
  );
  assert.deepEqual(received[0]!.fields, { level: "info", msg: "structured", n: 0 });
  assert.deepEqual([received[5]!.project, received[5]!.service, received[5]!.instance], ["drained", "api", inst.id]);
  const types = t.daemon.store.events.list({ project: "drained", limit: 5000 }).map((e) => e.type);
  assert.ok(types.includes("drain:error") && types.includes("drain:recovered"), types.join(","));
  assert.ok(!types.includes("drain:dropped"));
  process.stdout.write(`# ${n} lines, ${n - 40} written during a 30 s outage, all delivered in order\n`);
});
