/**
 * Seed 002 (examples/webhook-monitor, an npm-workspaces monorepo) end to end on the local engine
 * behind the real router: the api's /health reports database, redis and uptime; migrations ran
 * on deploy; the BullMQ worker has no HTTP port yet processes a webhook posted to the api; the
 * queue's Redis runs with AOF persistence.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { httpHealthGate } from "../../src/deploy/health-gate.ts";
import { LocalEngine } from "../../src/engine/local/local-engine.ts";
import { startTestDaemon, type TestDaemon, tempDir } from "../helpers/daemon.ts";

const SOURCE = fileURLToPath(new URL("../../examples/webhook-monitor", import.meta.url));
const ENV = "/v1/projects/webhook-monitor/environments/development";

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it returns a value (the deadline only turns a hang into a failure). */
async function until<T>(probe: () => Promise<T | undefined>, what: string, deadlineMs = 60_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

type Status = { status: string; services: { name: string; kind: string; urls: string[]; instances: { state: string; port: number | null }[] }[] };

describe("seed 002 webhook-monitor on Berth", () => {
  let t: TestDaemon;
  let port: number;
  let status: Status;
  const api = async (path: string, body?: unknown) => {
    const host = new URL(status.services.find((s) => s.name === "api")!.urls[0]!).host;
    const res = await request(`http://127.0.0.1:${port}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { host, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.statusCode, json: (await res.body.json()) as any };
  };

  before(async () => {
    port = await freePort();
    const stateDir = tempDir();
    t = await startTestDaemon({
      engine: ({ bus, openEnv }) => new LocalEngine({ stateDir, events: bus, openEnv }),
      health: httpHealthGate,
      routerHttpPort: port,
    });
    const blueprint = readFileSync(join(SOURCE, "berth.yaml"), "utf8");
    const r = await t.request("POST", "/v1/sync", { environment: "development", blueprint, file: "berth.yaml", sourceDir: SOURCE });
    assert.equal(r.status, 202, JSON.stringify(r.json));
    await t.daemon.reconciler.whenIdle();
    status = (await t.request("GET", ENV)).json;
    if (status.status !== "live") console.log(JSON.stringify((await t.request("GET", `${ENV}/deploys`)).json, null, 1).slice(0, 6000));
  });
  after(() => t?.close());

  test("seed 002: api /health reports database, redis and uptime, and the migrations that ran on deploy", async () => {
    assert.equal(status.status, "live", JSON.stringify(status));
    const health = await api("/health");
    assert.equal(health.status, 200, JSON.stringify(health.json));
    assert.equal(health.json.database.status, "up");
    assert.equal(health.json.redis.status, "up");
    assert.equal(typeof health.json.uptime, "number");
    assert.ok(health.json.database.migrations.applied >= 1, JSON.stringify(health.json.database));
  });

  test("seed 002: the worker runs without an HTTP port", async () => {
    const worker = status.services.find((s) => s.name === "worker")!;
    assert.equal(worker.kind, "worker");
    assert.deepEqual(worker.urls, []);
    assert.ok(worker.instances.length >= 1);
    for (const i of worker.instances) {
      assert.equal(i.port, null);
      assert.equal(i.state, "healthy");
    }
  });

  test("seed 002: a webhook posted to the api is processed by the BullMQ worker", async () => {
    const posted = await api("/webhooks/github", { action: "opened", number: 7 });
    assert.equal(posted.status, 202, JSON.stringify(posted.json));
    const done = await until(async () => {
      const r = await api(`/webhooks/${posted.json.id}`);
      return r.json.status === "processed" ? r.json : undefined;
    }, "the worker to process the webhook");
    assert.match(String(done.processed_by), /./);
  });

  test("seed 002: the queue's Redis has AOF persistence (CONFIG GET appendonly via the kv info API)", async () => {
    const info = await t.request("GET", `${ENV}/key-values/queue/info`);
    assert.equal(info.status, 200, JSON.stringify(info.json));
    assert.equal(info.json.info.appendonly, "yes");
    assert.equal(info.json.info["maxmemory-policy"], "noeviction");
  });
});
