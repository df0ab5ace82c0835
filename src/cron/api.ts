/**
 * The functions the CLI and HTTP API call (`berth cron list|run|runs`) and the one the
 * reconciler calls to record an environment's jobs. They only read and record intent; the
 * scheduler acts on it.
 */
import { systemClock } from "../core/clock.ts";
import { BerthError } from "../core/errors.ts";
import type { EventSink } from "../core/events.ts";
import type { EnvironmentRef, ServiceRef } from "../engine/engine.ts";
import type { Db } from "../store/db.ts";
import { type CronRunRow, CronRunRepository, type CronRunStatus } from "../store/repositories/cron-runs.ts";
import { type CronJob, type CronJobInput, jobKey, resolveCronJob } from "./job.ts";
import { parseSchedule } from "./schedule.ts";

export type { CronRunRow, CronRunStatus } from "../store/repositories/cron-runs.ts";

/** A job as `berth cron list` shows it. */
export interface CronJobView {
  readonly name: string;
  readonly job: CronJob;
  /** Next slot after now (ISO), if the schedule has one and the job is not suspended. */
  readonly nextRunAt: string | undefined;
  readonly lastRun: CronRunRow | undefined;
}

/**
 * Makes `env`'s cron jobs exactly `jobs` (validated, defaults filled). Jobs that stay keep their
 * cursor, so a re-sync never replays or loses slots. Throws BerthError on an invalid job.
 */
export function syncJobs(db: Db, env: EnvironmentRef, jobs: readonly CronJobInput[], nowMs = systemClock.now()): CronJob[] {
  const resolved = jobs.map((j) => resolveCronJob({ ...j, ref: { ...j.ref, project: env.project, environment: env.environment } }));
  new CronRunRepository(db).syncJobs(env, resolved.map((job) => ({ ref: job.ref, settings: job })), nowMs);
  return resolved;
}

/** The environment's jobs (all jobs without `env`), with their next slot and latest run. */
export function listJobs(db: Db, env?: EnvironmentRef, nowMs = systemClock.now()): CronJobView[] {
  const repo = new CronRunRepository(db);
  const out: CronJobView[] = [];
  for (const row of repo.listJobs(env)) {
    let job: CronJob;
    try {
      job = resolveCronJob({ ...(row.settings as CronJobInput), ref: row.ref });
    } catch {
      continue;
    }
    const next = job.suspended ? undefined : parseSchedule(job.schedule, job.timezone).next(nowMs);
    const lastRun = repo.listRuns(row.ref, { limit: 1, statuses: ["running", "succeeded", "failed", "timed-out", "replaced", "interrupted"] })[0];
    out.push({ name: jobKey(row.ref), job, nextRunAt: next === undefined ? undefined : new Date(next).toISOString(), lastRun });
  }
  return out;
}

/**
 * Records a manual run of a job (`berth cron run <job>`): a `pending` row with trigger `manual`
 * that the scheduler starts on its next pass (call `scheduler.wake()`, or use
 * `CronScheduler.trigger`). It obeys the job's concurrency policy like any run.
 */
export function triggerRun(db: Db, ref: ServiceRef, options: { readonly nowMs?: number; readonly actor?: string; readonly events?: EventSink } = {}): CronRunRow {
  const repo = new CronRunRepository(db);
  if (!repo.job(ref)) throw new BerthError("BERTH_CRON_JOB_NOT_FOUND", { job: jobKey(ref) });
  const nowMs = options.nowMs ?? systemClock.now();
  // Manual slots are keyed by time; two triggers in the same millisecond take the next one.
  for (let slotMs = nowMs; slotMs < nowMs + 1000; slotMs++) {
    const run = repo.insert({ ref, origin: "manual", slotMs, attempt: 1, trigger: "manual", status: "pending", notBeforeMs: nowMs }, nowMs);
    if (run) {
      options.events?.emit({
        type: "cron:run:claimed",
        scope: { ...ref },
        actor: options.actor ?? "system",
        data: { runId: run.id, slot: new Date(slotMs).toISOString(), trigger: "manual", attempt: 1 },
      });
      return run;
    }
  }
  throw new BerthError("BERTH_INTERNAL", { detail: "no free manual slot" });
}

/** A job's runs, newest first (`berth cron runs <job>`). */
export function listRuns(db: Db, ref: ServiceRef, options: { readonly limit?: number; readonly statuses?: readonly CronRunStatus[] } = {}): CronRunRow[] {
  const repo = new CronRunRepository(db);
  if (!repo.job(ref)) throw new BerthError("BERTH_CRON_JOB_NOT_FOUND", { job: jobKey(ref) });
  return repo.listRuns(ref, options);
}
