/**
 * Cron through the real daemon (issue 8): a sync records the blueprint's cron jobs, the reconciler
 * cuts a release for each cron service, and the daemon's CronScheduler runs every slot as a task
 * of the memory engine with the release's env. The HTTP API lists jobs and runs and triggers
 * manual runs (recorded as manual, audited by the token's name).
 */
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { TaskSpec } from "../../src/engine/engine.ts";
import { MemoryEngine, type MemoryTaskRecord } from "../../src/engine/memory/memory-engine.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";

const BLUEPRINT = `version: 1
project: ticker
services:
  tick:
    type: cron
    command: node tick.js
    schedule: "* * * * * *"
    env:
      GREETING: hello from the release
  nightly:
    type: cron
    command: node nightly.js --all
    schedule: "0 3 * * *"
    timezone: Europe/Zurich
    env:
      NIGHTLY_TOKEN: { generate: secret }
  broken:
    type: cron
    build: exit 3
    command: node broken.js
    schedule: "@daily"
`;

const base = "/v1/projects/ticker/environments/production/cron/jobs";

/** Polls `probe` until it returns a value (deadline only to fail instead of hanging). */
async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, deadlineMs = 20_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("cron jobs in the running daemon", () => {
  let t: TestDaemon;
  let engine: MemoryEngine;
  before(async () => {
    t = await startTestDaemon({
      engine: ({ bus, openEnv }) => {
        const task = async (_spec: unknown, ctx: { env: Readonly<Record<string, string>>; log: (line: string) => void }) => {
          ctx.log(ctx.env.NIGHTLY_TOKEN ? `token ${ctx.env.NIGHTLY_TOKEN}` : `hi ${ctx.env.GREETING}`);
          return { exitCode: 0 };
        };
        engine = new MemoryEngine({ events: bus, openEnv, task });
        return engine;
      },
    });
    const dir = writeProject(join(tempDir(), "ticker"), BLUEPRINT, { "tick.js": "", "nightly.js": "" });
    const res = await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    await t.daemon.reconciler.whenIdle();
  });
  after(() => t.close());

  test("a cron service gets a release (replicas 0) like any other service", async () => {
    const env = await t.request("GET", "/v1/projects/ticker/environments/production");
    // `broken`'s build fails (on purpose, for the 409 below), so the environment is degraded.
    assert.equal(env.json.status, "degraded", JSON.stringify(env.json));
    assert.match(env.json.statusDetail, /^broken: last deploy failed; not retried until its inputs change/, JSON.stringify(env.json));
    const services = (env.json.services as { name: string; kind: string; replicas: number; release: number | null }[]).map((s) => [s.name, s.kind, s.replicas, s.release]);
    assert.deepEqual(services.sort(), [
      ["broken", "cron", 0, null],
      ["nightly", "cron", 0, 1],
      ["tick", "cron", 0, 1],
    ]);
  });

  test("a per-second job fires on schedule as an engine task with the release's env", async () => {
    const run = await until(async () => {
      const r = await t.request("GET", `${base}/tick/runs?status=succeeded&limit=1`);
      assert.equal(r.status, 200, JSON.stringify(r.json));
      return r.json[0] as Record<string, unknown> | undefined;
    }, "a succeeded scheduled run of tick");
    assert.equal(run.trigger, "scheduled");
    assert.equal(run.origin, "scheduled");
    assert.equal(run.exitCode, 0);
    assert.equal(run.logExcerpt, "hi hello from the release");
    assert.equal(new Date(run.scheduledAt as string).getMilliseconds(), 0, "slots are whole seconds");
    const task = engine.tasks().find((k: MemoryTaskRecord) => k.spec.id === run.id);
    assert.ok(task, "the run reached the engine as a task");
    assert.equal(task.spec.kind, "cron");
    assert.equal(task.spec.command, "node tick.js");
    assert.equal(task.env.GREETING, "hello from the release");
    assert.equal(task.env.BERTH_RUN_ID, run.id);
    assert.equal(task.env.BERTH_SCHEDULED_AT, run.scheduledAt);

    const jobs = await t.request("GET", base);
    const tick = (jobs.json as { service: string; lastRun: { status: string } | null; nextRunAt: string | null }[]).find((j) => j.service === "tick");
    assert.ok(tick?.lastRun && tick.nextRunAt, JSON.stringify(tick));
  });

  test("it keeps firing once per slot: every second has exactly one row, none twice", async (ctx) => {
    type R = { scheduledAt: string; trigger: string; status: string; latenessMs: number | null };
    const all = async () => ((await t.request("GET", `${base}/tick/runs?limit=1000`)).json as R[]).filter((x) => x.trigger === "scheduled");
    await until(async () => ((await all()).filter((r) => r.status === "succeeded").length >= 5 ? true : undefined), "five succeeded runs of tick");
    const runs = await all();
    const slots = runs.map((r) => Date.parse(r.scheduledAt)).sort((a, b) => a - b);
    assert.equal(new Set(slots).size, slots.length, "no slot has two rows");
    // Every slot since the job was created has its row (a run, or a skipped/missed record): no gaps.
    assert.deepEqual(slots.map((x, i) => x - slots[0]! - i * 1000), slots.map(() => 0), "no slot forgotten");
    const late = runs.filter((r) => r.latenessMs !== null).map((r) => r.latenessMs!).sort((a, b) => a - b);
    ctx.diagnostic(`${runs.length} slots, statuses ${[...new Set(runs.map((r) => r.status))].join("/")}; lateness min ${late[0]} ms, median ${late[Math.floor(late.length / 2)]} ms, max ${late.at(-1)} ms`);
  });

  test("a manual trigger runs now, is recorded as manual and audited by the token's name", async () => {
    const deployer = t.daemon.store.tokens.create({ name: "ci-deployer", role: "deployer" }, new Date().toISOString()).token;
    const res = await t.request("POST", `${base}/nightly/runs`, undefined, deployer);
    assert.equal(res.status, 202, JSON.stringify(res.json));
    assert.equal(res.json.trigger, "manual");
    assert.equal(res.json.origin, "manual");
    const id = res.json.id as string;
    const done = await until(async () => {
      const runs = (await t.request("GET", `${base}/nightly/runs`)).json as { id: string; status: string; logExcerpt: string | null }[];
      return runs.find((r) => r.id === id && r.status === "succeeded");
    }, "the manual run to succeed");
    assert.ok(done);
    const task = engine.tasks().find((k) => k.spec.id === id);
    assert.equal(task?.spec.command, "node nightly.js --all");
    assert.equal(task?.env.BERTH_RUN_TRIGGER, "manual");
    // The job printed its generated secret: the API never shows it.
    const secret = task?.env.NIGHTLY_TOKEN ?? "";
    assert.ok(secret.length >= 16);
    assert.match(done.logExcerpt ?? "", /^token /);
    assert.ok(!done.logExcerpt?.includes(secret), done.logExcerpt ?? "");
    const audit = t.daemon.store.events.list({ types: ["cron:run:claimed"], limit: 5000 }).find((e) => (e.data as { runId?: string }).runId === id);
    assert.equal(audit?.actor, "ci-deployer");
    assert.deepEqual(audit?.scope, { project: "ticker", environment: "production", service: "nightly" });
    const log = (await t.request("GET", "/v1/audit?actor=ci-deployer")).json as { action: string; target: string; status: number }[];
    assert.ok(
      log.some((e) => e.action === "POST /v1/projects/:project/environments/:environment/cron/jobs/:job/runs" && e.target === `${base}/nightly/runs` && e.status === 202),
      JSON.stringify(log),
    );
  });

  test("roles and errors: viewers read but cannot trigger; unknown jobs and environments are 404", async () => {
    const viewer = t.daemon.store.tokens.create({ name: "watcher", role: "viewer" }, new Date().toISOString()).token;
    assert.equal((await t.request("GET", base, undefined, viewer)).status, 200);
    assert.equal((await t.request("GET", `${base}/tick/runs`, undefined, viewer)).status, 200);
    const denied = await t.request("POST", `${base}/nightly/runs`, undefined, viewer);
    assert.equal(denied.status, 403);
    assert.equal(denied.json.error.code, "BERTH_FORBIDDEN");
    const missing = await t.request("POST", `${base}/nope/runs`);
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, "BERTH_CRON_JOB_NOT_FOUND");
    assert.equal((await t.request("GET", `${base}/nope/runs`)).json.error.code, "BERTH_CRON_JOB_NOT_FOUND");
    const noEnv = await t.request("GET", "/v1/projects/ticker/environments/staging/cron/jobs");
    assert.equal(noEnv.status, 404);
    assert.equal(noEnv.json.error.code, "BERTH_NOT_FOUND");
    const badStatus = await t.request("GET", `${base}/tick/runs?status=done`);
    assert.equal(badStatus.status, 400);
    // A job whose service has no release (its build failed) is refused up front, with the reason.
    const noRelease = await t.request("POST", `${base}/broken/runs`);
    assert.equal(noRelease.status, 409);
    assert.equal(noRelease.json.error.code, "BERTH_CRON_TASK_UNAVAILABLE");
    assert.match(noRelease.json.error.message, /no release yet/);
  });

  test("a re-sync without the job removes it from the schedule", async () => {
    const dir = join(tempDir(), "ticker2");
    const text = BLUEPRINT.slice(0, BLUEPRINT.indexOf("  nightly:"));
    writeProject(dir, text, { "tick.js": "" });
    // Another directory for the same project: moved on purpose (one directory, one stack; issue 13).
    assert.equal((await t.request("POST", "/v1/sync", { environment: "production", blueprint: text, sourceDir: dir, force: true })).status, 202);
    const jobs = (await t.request("GET", "/v1/cron/jobs?project=ticker")).json as { name: string }[];
    assert.deepEqual(jobs.map((j) => j.name), ["ticker/production/tick"]);
  });
});

/** The seed's jobs also fire on their own (every 15 min): keep manual-run checks clear of a slot. */
async function awayFromSlots(): Promise<void> {
  const quarterMs = 15 * 60_000;
  const toNext = quarterMs - (Date.now() % quarterMs);
  // Wide enough for a loaded CI machine: a scheduled slot inside the test adds a run it does not expect.
  if (toNext < 30_000) await new Promise((r) => setTimeout(r, toNext + 1000));
}

describe("seed 000 (trip playlists) through the daemon", () => {
  let t: TestDaemon;
  let dataDir: string;
  /** Tasks block until released, so the test decides when runs end. */
  const open: { service: string; end: () => void }[] = [];
  const peak = new Map<string, number>();
  const started = new Map<string, number>();
  const runningOf = (service: string) => open.filter((o) => o.service === service).length;
  const endOne = (service: string) => {
    const o = open.find((x) => x.service === service);
    if (o) open.splice(open.indexOf(o), 1);
    o?.end();
  };
  before(async () => {
    const task = async (spec: TaskSpec, ctx: { signal: AbortSignal }) => {
      const service = spec.service.ref.service;
      // Only the runs the test triggers block: a schedule slot (reminder-dispatch runs every 15
      // minutes) passing during the file once added its own runs and retries to the counts.
      const run = t?.daemon.store.db.sql.prepare("SELECT trigger FROM cron_runs WHERE id = ?").get(spec.id) as { trigger: string } | undefined;
      if (run?.trigger !== "manual") return { exitCode: 0 };
      await new Promise<void>((end) => {
        open.push({ service, end });
        started.set(service, (started.get(service) ?? 0) + 1);
        peak.set(service, Math.max(peak.get(service) ?? 0, runningOf(service)));
        ctx.signal.addEventListener("abort", () => end(), { once: true });
      });
      return { exitCode: 0 };
    };
    // A short data dir: the managed Postgres's Unix socket path must stay under 108 bytes.
    dataDir = mkdtempSync("/tmp/bc-");
    t = await startTestDaemon({
      dataDir,
      // Stand-ins for what this test cannot provide: the example's apps are not in the repository
      // (no `npm ci`), its secrets have no values and its database is not provisioned here. The
      // real sealed-env path is covered by the suite above.
      builder: { build: async ({ service }) => ({ kind: "dir", path: tempDir(), digest: `sha256:${service.name}` }) },
      sealer: { seal: async () => "stand-in" },
      engine: ({ bus }) => new MemoryEngine({ events: bus, openEnv: async () => ({}), task }),
    });
    const example = fileURLToPath(new URL("../../examples/trip-playlists/berth.yaml", import.meta.url));
    const dir = tempDir("berth-seed000-");
    cpSync(example, join(dir, "berth.yaml"));
    for (const sub of ["apps/api", "apps/pwa"]) mkdirSync(join(dir, sub), { recursive: true });
    const res = await t.request("POST", "/v1/sync", { environment: "production", blueprint: readFileSync(example, "utf8"), sourceDir: dir });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    // Seed 000's production requires approval (issue 19): the sync is held until an owner approves it.
    const held = (res.json as { pending: { id: string } | null }).pending;
    assert.ok(held, "production requires approval: the sync is held");
    const approved = await t.request("POST", `/v1/pending-deploys/${held.id}/approve`, {});
    assert.equal(approved.status, 202, JSON.stringify(approved.json));
  });
  after(async () => {
    for (const o of open.splice(0)) o.end();
    await t.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const jobs = "/v1/projects/trip-playlists/environments/production/cron/jobs";
  const statuses = async (service: string) =>
    ((await t.request("GET", `${jobs}/${service}/runs`)).json as { status: string; trigger: string }[])
      .filter((r) => r.trigger === "manual")
      .map((r) => r.status)
      .sort();

  test("its blueprint yields its two cron jobs with their concurrency caps via the API", async () => {
    const res = await t.request("GET", jobs);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    type J = { service: string; schedule: string; command: string; concurrency: string; maxConcurrent: number; timeoutMs: number; retry: { maxRetries: number }; missed: { policy: string }; nextRunAt: string };
    assert.deepEqual(
      (res.json as J[]).map((j) => [j.service, j.schedule, j.command.replace(/^.*cli\.js /, ""), j.concurrency, j.maxConcurrent, j.timeoutMs, j.retry.maxRetries, j.missed.policy]),
      [
        ["parse-trip", "@hourly", "parse-trip --share", "forbid", 1, 30 * 60_000, 3, "run-once"],
        ["reminder-dispatch", "*/15 * * * *", "reminder-dispatch --upcoming", "allow", 2, 10 * 60_000, 5, "skip"],
      ],
    );
    for (const j of res.json as J[]) assert.ok(Date.parse(j.nextRunAt) > Date.now(), `${j.service} has a next run`);
  });

  test("both cron services get a release once the stack (its Postgres included) is reconciled", async () => {
    let last: unknown;
    await until(
      async () => {
        const env = (await t.request("GET", "/v1/projects/trip-playlists/environments/production")).json as { statusDetail: string | null; services: { name: string; release: number | null }[] };
        last = env;
        const crons = env.services.filter((s) => s.name === "parse-trip" || s.name === "reminder-dispatch");
        return crons.length === 2 && crons.every((s) => s.release !== null) ? true : undefined;
      },
      "releases of the cron services",
      120_000,
    ).catch((e: Error) => assert.fail(`${e.message}; environment: ${JSON.stringify(last)}`));
  });

  test("reminder-dispatch runs at most 2 at once (allow, maxConcurrent 2); a third trigger waits its turn", async () => {
    await awayFromSlots();
    for (let i = 0; i < 3; i++) assert.equal((await t.request("POST", `${jobs}/reminder-dispatch/runs`)).status, 202);
    await until(() => (runningOf("reminder-dispatch") === 2 ? true : undefined), "two reminder-dispatch runs");
    assert.deepEqual(await statuses("reminder-dispatch"), ["pending", "running", "running"]);
    endOne("reminder-dispatch");
    await until(async () => ((await statuses("reminder-dispatch")).join() === "running,running,succeeded" ? true : undefined), "the queued run to start");
    endOne("reminder-dispatch");
    endOne("reminder-dispatch");
    await until(async () => ((await statuses("reminder-dispatch")).join() === "succeeded,succeeded,succeeded" ? true : undefined), "all three to succeed");
    assert.equal(peak.get("reminder-dispatch"), 2);
  });

  test("parse-trip never runs twice at once (forbid): a second trigger waits for the first", async () => {
    await awayFromSlots();
    for (let i = 0; i < 2; i++) assert.equal((await t.request("POST", `${jobs}/parse-trip/runs`)).status, 202);
    await until(() => (runningOf("parse-trip") === 1 ? true : undefined), "one parse-trip run");
    assert.deepEqual(await statuses("parse-trip"), ["pending", "running"]);
    endOne("parse-trip");
    await until(() => (started.get("parse-trip") === 2 ? true : undefined), "the second run to start");
    endOne("parse-trip");
    await until(async () => ((await statuses("parse-trip")).join() === "succeeded,succeeded" ? true : undefined), "both to succeed");
    assert.equal(peak.get("parse-trip"), 1);
  });
});
