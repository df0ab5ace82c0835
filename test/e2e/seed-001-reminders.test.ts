/**
 * Seed 001 (examples/reminders) end to end on the local engine behind the real router: the api's
 * /health reports database, redis and uptime; the preDeploy migration ran before the switch; jobs
 * flow API -> Redis -> worker -> Postgres; exactly one scheduler holds the lock, also after its
 * process is SIGKILLed; on-failure restarts stop after maxRetries; Postgres refuses a connection
 * without the password; the Next.js web answers 200.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { request } from "undici";
import { httpHealthGate } from "../../src/deploy/health-gate.ts";
import { LocalEngine } from "../../src/engine/local/local-engine.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";

const SOURCE = fileURLToPath(new URL("../../examples/reminders", import.meta.url));
const ENV = "/v1/projects/reminders/environments/development";
/** The advisory lock key the example's scheduler holds (apps/api/src/scheduler.js). */
const SCHEDULER_LOCK = 7_001_002;

interface Instance {
  id: string;
  state: string;
  pid: number | null;
  port: number | null;
  restarts: number;
}
interface Status {
  status: string;
  statusDetail: string | null;
  services: { name: string; urls: string[]; instances: Instance[] }[];
}

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
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("seed 001 reminders on Berth", () => {
  let t: TestDaemon;
  let port: number;
  let status: Status;
  let directUrl: string;
  const hostOf = (service: string) => new URL(status.services.find((s) => s.name === service)!.urls[0]!).host;
  /** A request through HAProxy with the service's generated Host header. */
  const viaRouter = async (service: string, path: string, body?: unknown) => {
    const res = await request(`http://127.0.0.1:${port}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { host: hostOf(service), ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.statusCode, body: await res.body.text() };
  };
  /** One service as the engine sees it right now. */
  const liveService = async (project: string, service: string) => {
    const all = await t.daemon.engine.actual({ project, environment: "development" });
    const s = all.find((x) => x.ref.service === service);
    return { instances: (s?.instances ?? []).map((i) => ({ id: i.id, state: i.state, pid: i.pid ?? null, restarts: i.restarts })) };
  };
  const refresh = async () => {
    status = (await t.request("GET", ENV)).json;
    return status;
  };
  /** Sessions holding the scheduler's advisory lock, straight from pg_locks. */
  const schedulerLockHolders = async () => {
    const client = new pg.Client({ connectionString: directUrl });
    await client.connect();
    try {
      const { rows } = await client.query("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = $1", [SCHEDULER_LOCK]);
      return rows.length;
    } finally {
      await client.end();
    }
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
    await refresh();
    const url = await t.request("GET", `${ENV}/databases/db/url`);
    assert.equal(url.status, 200, JSON.stringify(url.json));
    directUrl = url.json.url;
  });
  after(() => t?.close());

  test("seed 001: api /health through the router reports database, redis and uptime", async () => {
    assert.equal(status.status, "live", JSON.stringify(status));
    const health = await viaRouter("api", "/health");
    assert.equal(health.status, 200, health.body);
    const body = JSON.parse(health.body);
    assert.equal(body.database.status, "up", health.body);
    assert.equal(body.redis.status, "up", health.body);
    assert.equal(typeof body.uptime, "number", health.body);
    assert.ok(body.database.migrations.applied >= 1, health.body);
  });

  test("seed 001: the preDeploy migration ran before traffic moved to the api", async () => {
    const deploys = (await t.request("GET", `${ENV}/deploys?service=api`)).json as { status: string; steps: { step: string; at: string }[] }[];
    const first = deploys.at(-1)!;
    assert.equal(first.status, "live", JSON.stringify(first));
    const names = first.steps.map((s) => s.step);
    const pre = names.findIndex((n) => /pre-?deploy/i.test(n));
    const sw = names.findIndex((n) => /switch/i.test(n));
    assert.ok(pre >= 0 && sw > pre, `steps: ${names.join(", ")}`);
    // The table the migration creates existed when the first health check answered: every applied
    // migration is older than the api's first instance start.
    const client = new pg.Client({ connectionString: directUrl });
    await client.connect();
    try {
      const { rows } = await client.query("SELECT max(applied_at) AS last, count(*)::int AS n FROM migrations");
      assert.ok(rows[0].n >= 1);
      const switchedAt = Date.parse(first.steps[sw]!.at);
      assert.ok(rows[0].last.getTime() <= switchedAt, `migrations at ${rows[0].last.toISOString()}, switch at ${first.steps[sw]!.at}`);
    } finally {
      await client.end();
    }
  });

  test("seed 001: a job flows API -> Redis -> worker -> Postgres", async () => {
    const created = await viaRouter("api", "/jobs", { kind: "e2e", n: 1 });
    assert.ok(created.status === 200 || created.status === 201 || created.status === 202, created.body);
    const { id } = JSON.parse(created.body) as { id: string | number };
    const job = await until(async () => {
      const r = await viaRouter("api", `/jobs/${id}`);
      const j = r.status === 200 ? JSON.parse(r.body) : undefined;
      return j?.status === "done" ? j : undefined;
    }, "the worker to write the job's row");
    assert.match(String(job.worker), /./, JSON.stringify(job));
  });

  test("seed 001: exactly one scheduler holds the lock, also after its process is SIGKILLed", async () => {
    assert.equal(await until(async () => ((await schedulerLockHolders()) === 1 ? 1 : undefined), "a scheduler to take the lock"), 1);
    const leases = JSON.parse((await viaRouter("api", "/scheduler")).body).leases as { released_at: string | null; pid: number }[];
    assert.equal(leases.filter((l) => l.released_at === null).length, 1, JSON.stringify(leases));
    const scheduler = (await refresh()).services.find((s) => s.name === "scheduler")!;
    assert.equal(scheduler.instances.length, 1, JSON.stringify(scheduler));
    const before = scheduler.instances[0]!;
    assert.ok(before.pid, JSON.stringify(before));
    process.kill(before.pid, "SIGKILL");
    // Berth restarts it (same instance, restarts + 1, or a replacement) and it takes the lock again.
    // The engine's live view (the status API's instances are a snapshot taken at reconcile time).
    let seen: unknown;
    const after = await until(async () => {
      const s = await liveService("reminders", "scheduler");
      seen = s;
      const restarted = s.instances.filter((i) => i.state !== "exited" && (i.restarts > before.restarts || (i.pid && i.pid !== before.pid)));
      return restarted.length === 1 && (await schedulerLockHolders()) === 1 ? s : undefined;
    }, "the scheduler to be restarted and hold the lock").catch((e) => {
      throw new Error(`${(e as Error).message}: ${JSON.stringify(seen)}`);
    });
    assert.equal(after.instances.filter((i) => i.state !== "exited").length, 1, JSON.stringify(after));
    // Still exactly one a few ticks later (no second copy sneaked in).
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(await schedulerLockHolders(), 1);
  });

  test("seed 001: the database refuses a connection without the password", async () => {
    const url = new URL(directUrl);
    assert.equal(url.hostname, "127.0.0.1", "Postgres listens on loopback only");
    url.password = "";
    const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5000 });
    client.on("error", () => {});
    await assert.rejects(client.connect(), /password|authentication/i);
    await client.end().catch(() => {});
  });

  test("seed 001: the Next.js web answers 200 through the router", async () => {
    const web = await viaRouter("web", "/");
    assert.equal(web.status, 200, web.body.slice(0, 300));
    assert.match(web.body, /<html/i);
  });

  test("seed 001: restart on-failure stops after maxRetries 5 for a service that always crashes", async () => {
    const blueprint = `version: 1
project: crashy
services:
  boom:
    type: worker
    start: node crash.js
    restart: { policy: on-failure, maxRetries: 5 }
`;
    // It outlives the 5 s grace period (so its deploy goes live and the supervisor owns it), then
    // crashes on every run: 5 restarts with backoff 0, 1, 2, 4, 8 s, then none.
    const dir = writeProject(join(tempDir(), "crashy"), blueprint, { "crash.js": "setTimeout(() => process.exit(3), 6000);\n" });
    const r = await t.request("POST", "/v1/sync", { environment: "development", blueprint, file: "berth.yaml", sourceDir: dir });
    assert.equal(r.status, 202, JSON.stringify(r.json));
    // No whenIdle: a deploy of a service that never stays up may keep the reconciler busy.
    let seen: unknown;
    const settled = async () => {
      const s = await liveService("crashy", "boom");
      seen = s;
      return s;
    };
    const last = await until(
      async () => {
        const s = await settled();
        const i = s.instances[0];
        return i && (i.state === "crash-looping" || i.state === "exited") && i.restarts >= 5 ? i : undefined;
      },
      "the crashing service to give up",
      150_000,
    ).catch((e) => {
      throw new Error(`${(e as Error).message}: ${JSON.stringify(seen)}`);
    });
    assert.equal(last.restarts, 5, JSON.stringify(last));
    await new Promise((r) => setTimeout(r, 3000));
    const later = (await settled()).instances[0]!;
    assert.equal(later.restarts, 5, `no more restarts after giving up: ${JSON.stringify(later)}`);
  });
});
