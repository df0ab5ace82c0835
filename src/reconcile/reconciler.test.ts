import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { MemoryEngine } from "../engine/memory/memory-engine.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../../test/helpers/daemon.ts";

const BLUEPRINT = `version: 1
project: demo
services:
  api:
    type: web
    start: node server.js
    replicas: 2
    env:
      GREETING: hello
      TOKEN: { generate: secret }
  worker:
    type: worker
    start: node worker.js
    health: { grace: 200ms }
`;

describe("the reconcile loop on the memory engine", () => {
  const daemons: TestDaemon[] = [];
  after(async () => {
    for (const d of daemons) await d.close();
  });

  test("a sync records desired state, cuts releases and converges the engine", async () => {
    const t = await startTestDaemon();
    daemons.push(t);
    const dir = writeProject(join(tempDir(), "demo"), BLUEPRINT, { "server.js": "", "worker.js": "" });
    const res = await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    await t.daemon.reconciler.whenIdle();
    const actual = await t.daemon.engine.actual({ project: "demo", environment: "production" });
    assert.deepEqual(actual.map((a) => [a.ref.service, a.instances.length]).sort(), [
      ["api", 2],
      ["worker", 1],
    ]);
    const status = await t.request("GET", "/v1/projects/demo/environments/production");
    assert.equal(status.json.status, "live");
    assert.equal(status.json.reconciledGeneration, status.json.generation);
    const deploys = await t.request("GET", "/v1/projects/demo/environments/production/deploys");
    assert.deepEqual(deploys.json.map((d: { status: string }) => d.status), ["live", "live"]);
    // The generated secret reached the instance but never the event log.
    const engine = t.daemon.engine as MemoryEngine;
    void engine;
    const events = JSON.stringify(t.daemon.store.events.list({ limit: 5000 }));
    assert.doesNotMatch(events, /"TOKEN":"[^[]/);
  });

  test("a second sync with no change does nothing; a changed blueprint rolls only what changed", async () => {
    const t = await startTestDaemon();
    daemons.push(t);
    const dir = writeProject(join(tempDir(), "demo"), BLUEPRINT, { "server.js": "", "worker.js": "" });
    await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir });
    await t.daemon.reconciler.whenIdle();
    const first = await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir });
    await t.daemon.reconciler.whenIdle();
    assert.equal(first.json.generation, 1);
    const changed = BLUEPRINT.replace("replicas: 2", "replicas: 3");
    const second = await t.request("POST", "/v1/sync", { environment: "production", blueprint: changed, sourceDir: dir });
    assert.equal(second.json.generation, 2);
    await t.daemon.reconciler.whenIdle();
    const api = (await t.daemon.engine.actual({ project: "demo", environment: "production" })).find((a) => a.ref.service === "api");
    assert.equal(api?.instances.filter((i) => i.state !== "exited").length, 3);
    const deploys = (await t.request("GET", "/v1/projects/demo/environments/production/deploys")).json as { service: string }[];
    assert.deepEqual(deploys.map((d) => d.service).sort(), ["api", "api", "worker"]);
  });

  test("a failed health gate leaves the old release serving and the deploy failed at the gate", async () => {
    let failing = false;
    const t = await startTestDaemon({
      engine: ({ bus, openEnv }) => new MemoryEngine({ events: bus, openEnv, startBehaviour: () => (failing ? "crash" : "run") }),
    });
    daemons.push(t);
    const dir = writeProject(join(tempDir(), "demo"), BLUEPRINT, { "server.js": "", "worker.js": "" });
    await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir });
    await t.daemon.reconciler.whenIdle();
    failing = true;
    writeProject(dir, BLUEPRINT, { "server.js": "// v2" });
    await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir });
    await t.daemon.reconciler.whenIdle();
    const api = (await t.daemon.engine.actual({ project: "demo", environment: "production" })).find((a) => a.ref.service === "api")!;
    const live = api.instances.filter((i) => i.state !== "exited");
    assert.equal(live.length, 2);
    assert.ok(live.every((i) => i.releaseNumber === 1), "old release still serving");
    const deploys = (await t.request("GET", "/v1/projects/demo/environments/production/deploys?service=api")).json as { status: string; reason: string; step: string }[];
    assert.equal(deploys[0]?.status, "failed");
    // Recorded under its own step (issue 15), not under the `start` before it.
    assert.equal(deploys[0]?.step, "health");
    assert.match(deploys[0]?.reason ?? "", /^health: instance .* failed its health check/);
    const env = await t.request("GET", "/v1/projects/demo/environments/production");
    assert.equal(env.json.status, "degraded");
  });

  test("a restarted daemon reconciles everything again from the store", async () => {
    const dataDir = tempDir();
    const engineBox: { e?: MemoryEngine } = {};
    const make = () =>
      startTestDaemon({
        dataDir,
        engine: ({ bus, openEnv }) => {
          engineBox.e = new MemoryEngine({ events: bus, openEnv });
          return engineBox.e;
        },
      });
    const first = await make();
    const dir = writeProject(join(tempDir(), "demo"), BLUEPRINT, { "server.js": "", "worker.js": "" });
    await first.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir });
    await first.daemon.reconciler.whenIdle();
    await first.daemon.stop({ stopInstances: false });
    // A new engine knows nothing (as if every process had died with the host): the restarted
    // daemon must bring the environment back from the store alone.
    const second = await make();
    daemons.push(second);
    await second.daemon.reconciler.whenIdle();
    const actual = await second.daemon.engine.actual({ project: "demo", environment: "production" });
    assert.deepEqual(actual.map((a) => [a.ref.service, a.instances.length]).sort(), [
      ["api", 2],
      ["worker", 1],
    ]);
  });

  test("a crash-looping service makes the environment degraded, between reconciles (issue 15)", async () => {
    const t = await startTestDaemon();
    daemons.push(t);
    const dir = writeProject(join(tempDir(), "demo"), BLUEPRINT, { "server.js": "", "worker.js": "" });
    await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir });
    await t.daemon.reconciler.whenIdle();
    assert.equal((await t.request("GET", "/v1/projects/demo/environments/production")).json.status, "live");
    const engine = t.daemon.engine as MemoryEngine;
    const ref = { project: "demo", environment: "production", service: "worker" };
    const [inst] = (await engine.actual({ project: "demo", environment: "production" })).find((a) => a.ref.service === "worker")!.instances;
    for (let i = 0; i < 5; i++) await engine.crash(ref, inst!.id, { code: 1 });
    const deadline = Date.now() + 10_000;
    let env = (await t.request("GET", "/v1/projects/demo/environments/production")).json;
    while (env.status !== "degraded" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      env = (await t.request("GET", "/v1/projects/demo/environments/production")).json;
    }
    assert.equal(env.status, "degraded");
    assert.match(env.statusDetail, /worker: 0\/1 healthy \(crash-looping\)/);
    const worker = env.services.find((s: { name: string }) => s.name === "worker");
    assert.equal(worker.instances[0].state, "crash-looping", "the instance snapshot follows too");
  });

  test("a first deploy that failed is not redeployed by later reconciles until asked (issue 15)", async () => {
    const t = await startTestDaemon({ engine: ({ bus, openEnv }) => new MemoryEngine({ events: bus, openEnv, startBehaviour: (spec) => (spec.ref.service === "worker" ? "crash" : "run") }) });
    daemons.push(t);
    const dir = writeProject(join(tempDir(), "demo"), BLUEPRINT, { "server.js": "", "worker.js": "" });
    await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir });
    await t.daemon.reconciler.whenIdle();
    const envId = t.daemon.store.environments.require("demo", "production").id;
    const workerDeploys = async () => ((await t.request("GET", "/v1/projects/demo/environments/production/deploys?service=worker")).json as { status: string }[]);
    assert.deepEqual((await workerDeploys()).map((d) => d.status), ["failed"]);
    // Periodic resyncs (and any other reconcile) leave the failed inputs alone.
    for (let i = 0; i < 3; i++) {
      t.daemon.reconciler.request(envId);
      await t.daemon.reconciler.whenIdle();
    }
    assert.equal((await workerDeploys()).length, 1);
    const env = (await t.request("GET", "/v1/projects/demo/environments/production")).json;
    assert.equal(env.status, "degraded");
    assert.match(env.statusDetail, /worker: last deploy failed; not retried until its inputs change/);
    assert.equal(env.services.find((s: { name: string }) => s.name === "worker").failed, true);
    // An explicit request retries once.
    assert.equal((await t.request("POST", "/v1/projects/demo/environments/production/reconcile", {})).status, 202);
    await t.daemon.reconciler.whenIdle();
    assert.equal((await workerDeploys()).length, 2);
    // The same blueprint again: still not retried; with `retry` (berth deploy --retry): once more.
    await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir });
    await t.daemon.reconciler.whenIdle();
    assert.equal((await workerDeploys()).length, 2);
    assert.equal((await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir, retry: true })).status, 202);
    await t.daemon.reconciler.whenIdle();
    assert.equal((await workerDeploys()).length, 3);
  });
  test("a blueprint reverted after a failed deploy is no longer reported failed (the CLI's \"(last deploy failed)\"): the good release runs again, live (issue 15)", async () => {
    // The broken change: the API's start command, which the engine crashes on.
    const broken = BLUEPRINT.replace("start: node server.js", "start: node broken.js");
    const t = await startTestDaemon({ engine: ({ bus, openEnv }) => new MemoryEngine({ events: bus, openEnv, startBehaviour: (spec) => (spec.start.includes("broken.js") ? "crash" : "run") }) });
    daemons.push(t);
    const dir = writeProject(join(tempDir(), "demo"), BLUEPRINT, { "server.js": "", "worker.js": "", "broken.js": "" });
    const sync = (text: string) => t.request("POST", "/v1/sync", { environment: "production", blueprint: text, sourceDir: dir });
    const api = async () => (await t.request("GET", "/v1/projects/demo/environments/production")).json as { status: string; statusDetail: string | null; services: { name: string; failed: boolean; release: number | null }[] };
    await sync(BLUEPRINT);
    await t.daemon.reconciler.whenIdle();
    await sync(broken);
    await t.daemon.reconciler.whenIdle();
    let env = await api();
    assert.equal(env.status, "degraded");
    assert.equal(env.services.find((s) => s.name === "api")!.failed, true);
    assert.match(env.statusDetail ?? "", /api: last deploy failed/);
    // One failed deploy: the good release is enforced with its own start command, not re-applied
    // with the broken one (which failed it too and marked the good inputs failed).
    const apiDeploys = (await t.request("GET", "/v1/projects/demo/environments/production/deploys?service=api")).json as { status: string }[];
    assert.deepEqual(apiDeploys.map((d) => d.status), ["failed", "live"]);

    await sync(BLUEPRINT); // reverted
    await t.daemon.reconciler.whenIdle();
    env = await api();
    assert.equal(env.status, "live", env.statusDetail ?? "");
    assert.equal(env.statusDetail, null);
    const row = env.services.find((s) => s.name === "api")!;
    assert.equal(row.failed, false);
    assert.equal(row.release, 1, "the good release is the desired one again");
  });
});
