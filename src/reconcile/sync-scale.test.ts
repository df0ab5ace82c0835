/**
 * Issue 15, deliverable 5 (functional side; the figures are in bench/scale-sync.ts): a large
 * blueprint is prepared in a worker thread, with the same answers and located errors as a small
 * one; a configurable ceiling on services per project refuses what is beyond it, clearly.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../../test/helpers/daemon.ts";

const services = (n: number) => Array.from({ length: n }, (_, i) => `  svc-${i}:\n    type: worker\n    start: node w.js\n`).join("");
// A comment block makes the text large enough for the worker path without many services.
const padding = `# ${"x".repeat(100)}\n`.repeat(800);

describe("large syncs and the services ceiling", () => {
  const daemons: TestDaemon[] = [];
  after(async () => {
    for (const d of daemons) await d.close();
  });

  test("a blueprint over the threshold is prepared off the event loop with the same result and errors", async () => {
    const t = await startTestDaemon();
    daemons.push(t);
    const dir = writeProject(join(tempDir(), "big"), "", { "w.js": "" });
    const text = `${padding}version: 1\nproject: big\nservices:\n${services(3)}`;
    assert.ok(text.length > 64 * 1024);
    const ok = await t.request("POST", "/v1/sync", { environment: "production", blueprint: text, sourceDir: dir });
    assert.equal(ok.status, 202, JSON.stringify(ok.json));
    assert.deepEqual(ok.json.services, ["svc-0", "svc-1", "svc-2"]);
    await t.daemon.reconciler.whenIdle();
    assert.equal((await t.request("GET", "/v1/projects/big/environments/production")).json.status, "live");
    const bad = await t.request("POST", "/v1/sync", { environment: "production", blueprint: `${text}  svc-x:\n    type: nonsense\n`, sourceDir: dir });
    assert.equal(bad.status, 422, JSON.stringify(bad.json));
    assert.equal(bad.json.error.code, "BERTH_BLUEPRINT_INVALID");
    assert.ok(bad.json.error.details[0].line > 800, "errors keep their line numbers");
  });

  test("more services per project than the ceiling is refused, naming the count and the limit", async () => {
    const t = await startTestDaemon({ configEnv: { BERTH_MAX_SERVICES_PER_PROJECT: "5" } });
    daemons.push(t);
    const dir = writeProject(join(tempDir(), "capped"), "", { "w.js": "" });
    const sync = (environment: string, n: number) => t.request("POST", "/v1/sync", { environment, blueprint: `version: 1\nproject: capped\nservices:\n${services(n)}environments:\n  production: {}\n  staging: {}\n`, sourceDir: dir });
    assert.equal((await sync("production", 3)).status, 202);
    const over = await sync("staging", 3); // 3 + the 3 of production > 5
    assert.equal(over.status, 422, JSON.stringify(over.json));
    assert.equal(over.json.error.code, "BERTH_SERVICES_LIMIT");
    assert.match(over.json.error.message, /capped\/staging would have 6 services; this daemon allows at most 5 per project/);
    assert.match(over.json.error.hint, /BERTH_MAX_SERVICES_PER_PROJECT/);
    assert.equal(t.daemon.store.environments.byName("capped", "staging"), undefined, "nothing recorded");
    assert.equal((await sync("production", 5)).status, 202, "the same environment may grow up to the ceiling");
  });
  test("the host's rules reach the worker: a reserved port deep in a large blueprint is refused where it is", async () => {
    const t = await startTestDaemon();
    daemons.push(t);
    const dir = writeProject(join(tempDir(), "ported"), "", { "w.js": "" });
    const text = `${padding}version: 1\nproject: ported\nservices:\n${services(2)}  api:\n    type: web\n    start: node w.js\n    port: 22\n`;
    assert.ok(text.length > 64 * 1024);
    const r = await t.request("POST", "/v1/sync", { environment: "production", blueprint: text, sourceDir: dir });
    assert.equal(r.status, 422, JSON.stringify(r.json));
    assert.equal(r.json.error.details[0].code, "BERTH_BLUEPRINT_PORT_RESERVED");
    assert.ok(r.json.error.details[0].line > 800, "located in the file");
  });

  test("a small sync sent after a large one of the same stack is recorded last (the newest request wins)", async () => {
    const t = await startTestDaemon();
    daemons.push(t);
    const dir = writeProject(join(tempDir(), "ordered"), "", { "w.js": "" });
    const large = `${padding}version: 1\nproject: ordered\nservices:\n${services(3)}`;
    const small = `version: 1\nproject: ordered\nservices:\n${services(1)}`;
    // The large one goes to a worker thread and finishes after the small one has been prepared.
    const [a, b] = await Promise.all([
      t.request("POST", "/v1/sync", { environment: "production", blueprint: large, sourceDir: dir }),
      t.request("POST", "/v1/sync", { environment: "production", blueprint: small, sourceDir: dir }),
    ]);
    assert.equal(a.status, 202, JSON.stringify(a.json));
    assert.equal(b.status, 202, JSON.stringify(b.json));
    assert.ok(b.json.generation > a.json.generation, `small recorded after large: ${a.json.generation} then ${b.json.generation}`);
    const env = t.daemon.store.environments.byName("ordered", "production")!;
    assert.deepEqual(t.daemon.store.services.list(env.id).map((s) => s.name), ["svc-0"]);
  });
});
