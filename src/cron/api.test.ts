import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { CronService } from "../blueprint/index.ts";
import { openDb } from "../store/db.ts";
import { CronRunRepository } from "../store/repositories/cron-runs.ts";
import { listJobs, listRuns, syncJobs, triggerRun } from "./api.ts";
import { cronJobFromService } from "./from-blueprint.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-cron-api-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const env = { project: "trips", environment: "staging" };
const ref = (service: string) => ({ ...env, service });
const T0 = Date.parse("2026-01-01T10:07:00Z");

test("syncJobs makes the job list exact and keeps cursors of jobs that stay", () => {
  const db = openDb(join(dir, "sync.db"));
  syncJobs(db, env, [{ ref: ref("a"), schedule: "@hourly", command: "a" }, { ref: ref("b"), schedule: "@daily", command: "b" }], T0);
  new CronRunRepository(db).setCursor(ref("a"), T0 - 7 * 60_000);
  syncJobs(db, env, [{ ref: ref("a"), schedule: "*/15 * * * *", command: "a2" }], T0);
  const rows = new CronRunRepository(db).listJobs(env);
  assert.deepEqual(rows.map((r) => [r.ref.service, r.cursorMs]), [["a", T0 - 7 * 60_000]]);
  assert.deepEqual(listJobs(db, env, T0).map((j) => [j.name, j.job.command, j.nextRunAt]), [["trips/staging/a", "a2", "2026-01-01T10:15:00.000Z"]]);
  assert.throws(() => syncJobs(db, env, [{ ref: ref("c"), schedule: "61 * * * *", command: "c" }], T0), { code: "BERTH_CRON_SCHEDULE_INVALID" });
  assert.equal(new CronRunRepository(db).listJobs(env).length, 1, "an invalid list changes nothing");
  db.close();
});

test("triggerRun records a pending manual run; unknown jobs are BERTH_CRON_JOB_NOT_FOUND", () => {
  const db = openDb(join(dir, "trigger.db"));
  syncJobs(db, env, [{ ref: ref("a"), schedule: "@hourly", command: "a" }], T0);
  const one = triggerRun(db, ref("a"), { nowMs: T0 });
  const two = triggerRun(db, ref("a"), { nowMs: T0 });
  assert.notEqual(one.id, two.id);
  assert.deepEqual([one.trigger, one.origin, one.status, one.notBeforeMs], ["manual", "manual", "pending", T0]);
  assert.deepEqual(listRuns(db, ref("a")).map((r) => r.slotMs), [T0 + 1, T0]);
  assert.throws(() => triggerRun(db, ref("nope"), { nowMs: T0 }), { code: "BERTH_CRON_JOB_NOT_FOUND" });
  assert.throws(() => listRuns(db, ref("nope")), { code: "BERTH_CRON_JOB_NOT_FOUND" });
  db.close();
});

test("the store refuses a second claim of a slot and a second start of a run", () => {
  const db = openDb(join(dir, "claims.db"));
  syncJobs(db, env, [{ ref: ref("a"), schedule: "@hourly", command: "a" }], T0);
  const repo = new CronRunRepository(db);
  const claim = { ref: ref("a"), origin: "scheduled", slotMs: T0, attempt: 1, trigger: "scheduled", status: "claimed" } as const;
  const run = repo.insert(claim, T0);
  assert.ok(run);
  assert.equal(repo.insert(claim, T0), undefined, "same (job, slot, attempt): no second claim");
  assert.ok(repo.insert({ ...claim, ref: ref("b") }, T0), "another job may claim the same time");
  assert.equal(repo.start(run.id, T0), true);
  assert.equal(repo.start(run.id, T0), false, "compare-and-set: a run starts once");
  assert.equal(repo.close(run.id, ["claimed"], "abandoned", "x", T0), false, "a started run cannot be abandoned");
  db.close();
});

test("a blueprint cron service maps onto job settings", () => {
  const svc = {
    name: "reminder-dispatch",
    type: "cron",
    schedule: "*/15 * * * *",
    command: "reminder-dispatch --upcoming",
    timezone: "Europe/Zurich",
    concurrency: "allow",
    maxConcurrent: 2,
    timeoutMs: 600_000,
    retries: { max: 3, backoffMs: 30_000, maxBackoffMs: 600_000, factor: 2 },
    missedRuns: "run-once",
  } as unknown as CronService;
  const job = cronJobFromService(env, svc);
  assert.deepEqual(job.ref, ref("reminder-dispatch"));
  assert.deepEqual([job.concurrency, job.maxConcurrent, job.timezone, job.missed?.policy, job.retry?.maxRetries, job.retry?.initialDelayMs], ["allow", 2, "Europe/Zurich", "run-once", 3, 30_000]);
});
