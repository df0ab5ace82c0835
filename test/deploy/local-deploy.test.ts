/**
 * Issue 5 on the real local engine (processes, HTTP health gate), through the real daemon:
 * deploy, redeploy on a code change, a release that fails its health check never replaces the
 * old one, a failing preDeploy aborts, rollback goes back to the previous release.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { httpHealthGate } from "../../src/deploy/health-gate.ts";
import { LocalEngine } from "../../src/engine/local/local-engine.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";

const SERVER = `
const http = require("node:http");
const fs = require("node:fs");
const version = fs.readFileSync(__dirname + "/VERSION", "utf8").trim();
const healthy = !version.startsWith("broken");
http.createServer((req, res) => {
  if (req.url === "/health") { res.statusCode = healthy ? 200 : 500; return res.end(healthy ? "ok" : "db down"); }
  res.end(version + " " + (process.env.GREETING || ""));
}).listen(Number(process.env.PORT), "127.0.0.1");
`;

const blueprint = (preDeploy = "") => `version: 1
project: hello
services:
  web:
    type: web
    start: node server.js
    replicas: 2
    health: { path: /health, deployTimeout: 8s }
    ${preDeploy ? `preDeploy: ${preDeploy}` : ""}
    env:
      GREETING: hi
`;

interface Status {
  status: string;
  services: { name: string; release: number | null; failed: boolean; instances: { state: string; port: number | null; release: number | null }[] }[];
}

describe("deploys on the local engine", () => {
  let t: TestDaemon;
  let dir: string;
  const sync = async (yaml = blueprint()) => {
    const r = await t.request("POST", "/v1/sync", { environment: "production", blueprint: yaml, sourceDir: dir });
    assert.equal(r.status, 202, JSON.stringify(r.json));
    await t.daemon.reconciler.whenIdle();
    return (await t.request("GET", "/v1/projects/hello/environments/production")).json as Status;
  };
  const bodies = async (s: Status) => {
    const ports = s.services[0]!.instances.filter((i) => i.state === "healthy").map((i) => i.port!);
    return Promise.all(ports.map(async (p) => (await fetch(`http://127.0.0.1:${p}/`)).text()));
  };
  const lastDeploy = async () => ((await t.request("GET", "/v1/projects/hello/environments/production/deploys")).json as { status: string; step: string; reason: string }[])[0]!;

  before(async () => {
    const stateDir = tempDir();
    t = await startTestDaemon({
      engine: ({ bus, openEnv }) => new LocalEngine({ stateDir, events: bus, openEnv, sandbox: false }),
      health: httpHealthGate,
    });
    dir = writeProject(join(tempDir(), "hello"), blueprint(), { "server.js": SERVER, VERSION: "v1" });
  });
  after(() => t.close());

  test("a first deploy builds, starts two healthy instances and answers with the env", async () => {
    const s = await sync();
    assert.equal(s.status, "live", JSON.stringify(s));
    assert.deepEqual(await bodies(s), ["v1 hi", "v1 hi"]);
    assert.equal(s.services[0]!.release, 1);
  });

  test("a code change is a new release; the new instances replace the old", async () => {
    writeFileSync(join(dir, "VERSION"), "v2");
    const s = await sync();
    assert.equal(s.services[0]!.release, 2);
    assert.deepEqual(await bodies(s), ["v2 hi", "v2 hi"]);
    const d = await lastDeploy();
    assert.equal(d.status, "live");
  });

  test("a release whose health check fails never takes over; the deploy says why", async () => {
    writeFileSync(join(dir, "VERSION"), "broken-v3");
    const s = await sync();
    assert.equal(s.status, "degraded");
    assert.deepEqual(await bodies(s), ["v2 hi", "v2 hi"], "the previous release keeps serving");
    const d = await lastDeploy();
    assert.equal(d.status, "failed");
    assert.match(d.reason, /HTTP 500: db down/);
  });

  test("a failing preDeploy aborts the deploy before anything starts", async () => {
    writeFileSync(join(dir, "VERSION"), "v4");
    const s = await sync(blueprint("node -e 'process.exit(3)'"));
    assert.deepEqual(await bodies(s), ["v2 hi", "v2 hi"]);
    const d = await lastDeploy();
    assert.equal(d.status, "failed");
    assert.equal(d.step, "preDeploy");
    assert.match(d.reason, /exit 3/);
  });

  test("fixing it deploys; rollback returns to the previous release", async () => {
    const fixed = await sync(blueprint("node -e 'process.exit(0)'"));
    assert.deepEqual(await bodies(fixed), ["v4 hi", "v4 hi"]);
    const r = await t.request("POST", "/v1/projects/hello/environments/production/services/web/rollback", {});
    assert.equal(r.status, 202, JSON.stringify(r.json));
    await t.daemon.reconciler.whenIdle();
    const s = (await t.request("GET", "/v1/projects/hello/environments/production")).json as Status;
    assert.deepEqual(await bodies(s), ["v2 hi", "v2 hi"]);
  });
});
