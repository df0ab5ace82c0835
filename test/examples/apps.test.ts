/**
 * Seed 001's Node apps work outside Berth: the API, two workers and two schedulers from
 * examples/reminders/apps/api run against a real PostgreSQL 15 and Redis 7 started here, with the
 * same commands and variables the blueprint gives them.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { freePort, startPostgres, startRedis, type TestServer } from "./servers.ts";

const APP_SRC = join(import.meta.dirname, "../../examples/reminders/apps/api");
const SCHEDULER_LOCK = 7_001_002;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await sleep(200);
  }
  throw new Error(`${what} did not happen${last ? `: ${String(last)}` : ""}`);
}

describe("examples: seed 001 (reminders) API, worker and scheduler outside Berth", { timeout: 240_000 }, () => {
  let dir: string;
  let postgres: TestServer;
  let redis: TestServer;
  let env: Record<string, string>;
  let apiUrl: string;
  let db: pg.Client;
  const procs: ChildProcess[] = [];
  const logs = new Map<ChildProcess, string>();

  function run(script: string, extra: Record<string, string> = {}): ChildProcess {
    const child = spawn(process.execPath, [script], { cwd: dir, env: { ...env, ...extra }, stdio: ["ignore", "pipe", "pipe"] });
    logs.set(child, "");
    const keep = (b: Buffer) => logs.set(child, (logs.get(child) ?? "") + b.toString());
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    procs.push(child);
    return child;
  }

  async function stopProc(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await Promise.race([exited, sleep(10_000).then(() => child.kill("SIGKILL"))]);
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "berth-ex-app-"));
    cpSync(APP_SRC, dir, { recursive: true, filter: (src) => !src.includes("node_modules") });
    const install = spawn("npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: dir, stdio: "ignore" });
    [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
    const code = await new Promise((r) => install.once("exit", r));
    assert.equal(code, 0, "npm ci of the example failed");
    env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      NODE_ENV: "production",
      DATABASE_URL: postgres.url,
      DATABASE_URL_POOLED: postgres.url,
      REDIS_URL: redis.url,
      LOG_LEVEL: "warn",
      SCHEDULER_INTERVAL_MS: "300",
      SCHEDULER_STANDBY_RETRY_MS: "300",
      ESCALATE_AFTER_SECONDS: "1",
    };
    db = new pg.Client({ connectionString: postgres.url });
    await db.connect();
  });

  after(async () => {
    await Promise.all(procs.map(stopProc));
    await db?.end().catch(() => {});
    await Promise.all([postgres?.stop(), redis?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("seed 001: the preDeploy migration records what it applied and is idempotent", () => {
    const first = execFileSync(process.execPath, ["src/migrate.js"], { cwd: dir, env, encoding: "utf8" });
    assert.match(first, /migrations: 3 applied, 3 total/);
    const again = execFileSync(process.execPath, ["src/migrate.js"], { cwd: dir, env, encoding: "utf8" });
    assert.match(again, /migrations: 0 applied, 3 total/);
  });

  test("seed 001: /health reports database, redis and uptime (postgres:// URL)", async () => {
    assert.ok(postgres.url.startsWith("postgres://"));
    const port = await freePort();
    apiUrl = `http://127.0.0.1:${port}`;
    run("src/server.js", { PORT: String(port), HOST: "127.0.0.1" });
    const health = await eventually("the API answering", async () => {
      const res = await fetch(`${apiUrl}/health`);
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    });
    assert.equal(health.status, 200);
    assert.equal(health.body.status, "ok");
    assert.equal(health.body.database.status, "up");
    assert.deepEqual(health.body.database.migrations, { applied: 3, latest: "0003_scheduler" });
    assert.equal(health.body.redis.status, "up");
    assert.equal(typeof health.body.uptime, "number");
  });

  test("seed 001: jobs flow API -> Redis -> worker -> Postgres, across two workers", async () => {
    run("src/worker.js", { BERTH_INSTANCE_ID: "worker-1" });
    run("src/worker.js", { BERTH_INSTANCE_ID: "worker-2" });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${apiUrl}/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ n: i }) });
      assert.equal(res.status, 202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    for (const id of ids) {
      const job = await eventually(`job ${id} done`, async () => {
        const body = (await (await fetch(`${apiUrl}/jobs/${id}`)).json()) as Record<string, any>;
        return body.status === "done" ? body : undefined;
      });
      assert.match(job.output, /^[0-9a-f]{64}$/);
      assert.match(job.worker, /^worker-[12]$/);
    }
    const { rows } = await db.query("SELECT count(*)::int AS n FROM job_results");
    assert.equal(rows[0].n, 10);
  });

  test("seed 001: exactly one scheduler runs; the standby takes over when it stops", async () => {
    const first = run("src/scheduler.js", { BERTH_INSTANCE_ID: "scheduler-a" });
    await eventually("scheduler-a holding the lock", async () => ((logs.get(first) ?? "").includes("holding the scheduler lock") ? true : undefined));
    const second = run("src/scheduler.js", { BERTH_INSTANCE_ID: "scheduler-b" });
    await eventually("scheduler-b standing by", async () => ((logs.get(second) ?? "").includes("standing by") ? true : undefined));
    const holders = async () =>
      (await db.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted", [SCHEDULER_LOCK])).rows[0].n;
    const live = async () => (await db.query("SELECT instance_id FROM scheduler_leases WHERE released_at IS NULL")).rows.map((r) => r.instance_id);
    assert.equal(await holders(), 1);
    assert.deepEqual(await live(), ["scheduler-a"]);

    // A reminder due now is enqueued by the scheduler, delivered by a worker, then escalated.
    const created = await fetch(`${apiUrl}/reminders`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ title: "call mum" }) });
    const { id } = (await created.json()) as { id: string };
    const escalated = await eventually("the reminder escalated to level 2", async () => {
      const r = (await (await fetch(`${apiUrl}/reminders/${id}`)).json()) as { deliveries: { level: number }[] };
      return r.deliveries.length >= 2 ? r : undefined;
    });
    assert.deepEqual(escalated.deliveries.slice(0, 2).map((d) => d.level), [1, 2]);

    await stopProc(first);
    await eventually("scheduler-b taking over", async () => ((await live()).join() === "scheduler-b" ? true : undefined));
    assert.equal(await holders(), 1);
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM scheduler_leases a JOIN scheduler_leases b ON a.instance_id < b.instance_id
        WHERE tstzrange(a.acquired_at, coalesce(a.released_at, 'infinity')) && tstzrange(b.acquired_at, coalesce(b.released_at, 'infinity'))`,
    );
    assert.equal(rows[0].n, 0, "two scheduler leases overlapped");
  });

  test("seed 001: /health answers 503 naming redis when Redis is down", async () => {
    await redis.stop();
    const res = await eventually("a 503", async () => {
      const r = await fetch(`${apiUrl}/health`);
      return r.status === 503 ? r : undefined;
    });
    const body = (await res.json()) as Record<string, any>;
    assert.equal(body.redis.status, "down");
    assert.equal(body.database.status, "up");
  });
});
