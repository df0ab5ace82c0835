/**
 * Issue 5 acceptance (the short version; the long one is bench/redeploy.ts): a Node web app on
 * the local engine behind the real router (HAProxy), redeployed with code changes under a
 * bounded, steady load -> 0 failed requests; then a rollback under the same load.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Agent, request } from "undici";
import { httpHealthGate } from "../../src/deploy/health-gate.ts";
import { LocalEngine } from "../../src/engine/local/local-engine.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";

const SERVER = `
const http = require("node:http");
const version = require("fs").readFileSync(__dirname + "/VERSION", "utf8").trim();
const server = http.createServer((req, res) => res.end(version));
server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`;
const BLUEPRINT = `version: 1
project: zdt
services:
  web:
    type: web
    start: node server.js
    replicas: 2
    health: { path: /, interval: 200ms }
    shutdownDelay: 5s
`;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe("zero-downtime deploys through the router", () => {
  let t: TestDaemon;
  let dir: string;
  let port: number;
  before(async () => {
    port = await freePort();
    const stateDir = tempDir();
    t = await startTestDaemon({
      engine: ({ bus, openEnv }) => new LocalEngine({ stateDir, events: bus, openEnv, sandbox: false }),
      health: httpHealthGate,
      routerHttpPort: port,
    });
    dir = writeProject(join(tempDir(), "zdt"), BLUEPRINT, { "server.js": SERVER, VERSION: "v0" });
    const r = await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir });
    assert.equal(r.status, 202);
    await t.daemon.reconciler.whenIdle();
  });
  after(() => t.close());

  test("5 redeploys and a rollback under load: 0 failed requests", async () => {
    const status = await t.request("GET", "/v1/projects/zdt/environments/production");
    const url = new URL(status.json.services[0].urls[0]);
    assert.equal(url.hostname, "web-production-zdt.localhost");
    const agent = new Agent({ connections: 20, pipelining: 1, keepAliveTimeout: 10_000 });
    let ok = 0;
    const failures: string[] = [];
    const seen = new Set<string>();
    let running = true;
    // 20 keep-alive clients, each at most ~100 req/s, bounded by the test's duration.
    const clients = Array.from({ length: 20 }, async () => {
      while (running) {
        try {
          const res = await request(`http://127.0.0.1:${port}/`, { dispatcher: agent, headers: { host: url.host } });
          const body = await res.body.text();
          if (res.statusCode === 200) {
            ok++;
            seen.add(body);
          } else failures.push(`HTTP ${res.statusCode} ${body.slice(0, 80)}`);
        } catch (e) {
          failures.push((e as Error).message);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    });
    try {
      for (let v = 1; v <= 5; v++) {
        writeFileSync(join(dir, "VERSION"), `v${v}`);
        await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir });
        await t.daemon.reconciler.whenIdle();
      }
      const rb = await t.request("POST", "/v1/projects/zdt/environments/production/services/web/rollback", {});
      assert.equal(rb.status, 202);
      await t.daemon.reconciler.whenIdle();
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      running = false;
      await Promise.all(clients);
      await agent.close();
    }
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} failed of ${ok + failures.length}`);
    assert.ok(ok > 200, `only ${ok} requests`);
    assert.ok(seen.has("v5") && seen.has("v4"), `versions seen: ${[...seen].join(",")}`);
    const deploys = (await t.request("GET", "/v1/projects/zdt/environments/production/deploys")).json as { status: string }[];
    assert.ok(deploys.every((d) => d.status === "live"), JSON.stringify(deploys.map((d) => d.status)));
    console.log(`zero-downtime: ${ok} requests, ${failures.length} failed, versions ${[...seen].sort().join(",")}`);
  });

  test("stopping the environment drains and stops every instance, then drops its routes", async () => {
    const before = await t.request("GET", "/v1/projects/zdt/environments/production");
    const host = new URL(before.json.services[0].urls[0]).host;
    const res = await t.request("DELETE", "/v1/projects/zdt/environments/production");
    assert.equal(res.status, 202);
    await t.daemon.reconciler.whenIdle();
    const after = await t.request("GET", "/v1/projects/zdt/environments/production");
    assert.equal(after.json.status, "stopped", JSON.stringify(after.json));
    assert.deepEqual(await t.daemon.engine.actual({ project: "zdt", environment: "production" }), []);
    const routed = await request(`http://127.0.0.1:${port}/`, { headers: { host } });
    await routed.body.text();
    assert.notEqual(routed.statusCode, 200, "no route is left for the stopped service");
  });
});
