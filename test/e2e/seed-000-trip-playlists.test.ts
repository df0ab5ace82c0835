/**
 * Seed 000 (examples/trip-playlists) end to end on the local engine behind the real router:
 * the api and parser worker go live, both cron jobs fire through the daemon's scheduler and record
 * their runs in Postgres, the PWA serves its index and SPA fallback, and a backup succeeds.
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

const SOURCE = fileURLToPath(new URL("../../examples/trip-playlists", import.meta.url));
const ENV = "/v1/projects/trip-playlists/environments/development";

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

describe("seed 000 trip-playlists on Berth", () => {
  let t: TestDaemon;
  let port: number;
  let status: { status: string; services: { name: string; urls: string[]; instances: { state: string; port: number | null }[] }[] };
  /** GET through HAProxy with the service's generated Host header. */
  const viaRouter = async (service: string, path: string) => {
    const host = new URL(status.services.find((s) => s.name === service)!.urls[0]!).host;
    const res = await request(`http://127.0.0.1:${port}${path}`, { headers: { host } });
    return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
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

  test("seed 000: api-backend and parser-worker go live; /health reports the database and the parser", async () => {
    assert.equal(status.status, "live", JSON.stringify(status));
    const health = await viaRouter("api-backend", "/health");
    assert.equal(health.status, 200, health.body);
    const body = JSON.parse(health.body);
    assert.equal(body.database.status, "up", health.body);
    assert.equal(body.parser.status, "up", health.body);
    const workers = status.services.find((s) => s.name === "parser-worker")!.instances;
    assert.deepEqual(workers.map((i) => [i.state, i.port]), [["healthy", null], ["healthy", null]]);
    // A shared trip is parsed by the worker (LISTEN/NOTIFY on Postgres).
    const created = await request(`http://127.0.0.1:${port}/trips`, {
      method: "POST",
      headers: { host: new URL(status.services.find((s) => s.name === "api-backend")!.urls[0]!).host, "content-type": "application/json" },
      body: JSON.stringify({ shareUrl: "https://maps.example.com/trip?from=Zurich&to=Geneva" }),
    });
    assert.equal(created.statusCode, 202);
    const { id } = (await created.body.json()) as { id: number };
    const trip = await until(async () => {
      const r = await viaRouter("api-backend", `/trips/${id}`);
      const j = JSON.parse(r.body);
      return j.status === "parsed" ? j : undefined;
    }, "the parser worker to parse the trip");
    assert.match(String(trip.parsed_by), /./);
  });

  test("seed 000: both cron jobs run through the daemon's scheduler and record their runs in Postgres; caps visible", async () => {
    const jobs = (await t.request("GET", `${ENV}/cron/jobs`)).json as { service: string; concurrency: string; maxConcurrent: number; command: string }[];
    const byName = Object.fromEntries(jobs.map((j) => [j.service, j]));
    assert.equal(byName["parse-trip"]?.concurrency, "forbid", JSON.stringify(jobs));
    assert.equal(byName["reminder-dispatch"]?.concurrency, "allow");
    assert.equal(byName["reminder-dispatch"]?.maxConcurrent, 2);
    for (const job of ["parse-trip", "reminder-dispatch"]) {
      const trig = await t.request("POST", `${ENV}/cron/jobs/${job}/runs`);
      assert.equal(trig.status, 202, JSON.stringify(trig.json));
      const run = await until(async () => {
        const runs = (await t.request("GET", `${ENV}/cron/jobs/${job}/runs?limit=10`)).json as { id: string; status: string; exitCode: number | null; logExcerpt: string | null }[];
        const r = runs.find((x) => x.id === trig.json.id);
        return r && !["pending", "running", "queued"].includes(r.status) ? r : undefined;
      }, `the manual run of ${job} to finish`);
      assert.equal(run.status, "succeeded", JSON.stringify(run));
      assert.equal(run.exitCode, 0);
    }
    const recorded = JSON.parse((await viaRouter("api-backend", "/cron-runs")).body) as { runs: { job: string; ok: boolean }[] };
    for (const job of ["parse-trip", "reminder-dispatch"]) assert.ok(recorded.runs.some((r) => r.job === job && r.ok), JSON.stringify(recorded));
  });

  test("seed 000: the PWA static site serves its index and the SPA fallback through the router", async () => {
    const index = await viaRouter("pwa", "/");
    assert.equal(index.status, 200);
    assert.match(index.body, /<div id="root">|<html/i);
    const deep = await viaRouter("pwa", "/trips/42/playlist");
    assert.equal(deep.status, 200);
    assert.equal(deep.body, index.body, "an unknown path falls back to index.html");
  });

  test("seed 000: a database backup taken through the API succeeds", async () => {
    // Recorded as an operation (issue 16): answered 202, carried out by the daemon.
    const b = await t.request("POST", `${ENV}/databases/db/backups`, {});
    assert.equal(b.status, 202, JSON.stringify(b.json));
    const done = await t.daemon.operations.wait(b.json.id);
    assert.equal(done.state, "succeeded", JSON.stringify(done.error));
    const list = await t.request("GET", `${ENV}/databases/db/backups`);
    assert.equal(list.status, 200);
    assert.ok(list.json.backups.length >= 1, JSON.stringify(list.json));
  });
});
