/**
 * Cron jobs (settings + planning cursor) and their runs, one row per attempt. The claim of a slot
 * is an INSERT guarded by the UNIQUE key (job, origin, slot, attempt); starting is a
 * compare-and-set to `running`. Together they make "no row ever starts twice" a property of the
 * store, true across crashes and restarts. See docs/design/cron.md.
 */
import { newId } from "../../core/ids.ts";
import type { Db } from "../db.ts";
import { fromJson, toJson } from "../db.ts";

/** A job's identity: the cron service's {project, environment, service}. */
export interface CronJobRef {
  readonly project: string;
  readonly environment: string;
  readonly service: string;
}

export type CronRunStatus =
  | "pending"
  | "claimed"
  | "running"
  | "succeeded"
  | "failed"
  | "timed-out"
  | "replaced"
  | "interrupted"
  | "skipped"
  | "abandoned"
  | "missed";
export type CronTrigger = "scheduled" | "manual" | "retry";
export type CronOrigin = "scheduled" | "manual";

export interface CronJobRow {
  readonly ref: CronJobRef;
  /** The resolved job settings as stored (parsed by src/cron). */
  readonly settings: unknown;
  readonly cursorMs: number | null;
}

export interface CronRunRow {
  readonly id: string;
  readonly ref: CronJobRef;
  readonly origin: CronOrigin;
  readonly slotMs: number;
  readonly attempt: number;
  readonly trigger: CronTrigger;
  readonly status: CronRunStatus;
  readonly notBeforeMs: number | null;
  readonly claimedAtMs: number;
  readonly startedAtMs: number | null;
  readonly finishedAtMs: number | null;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly reason: string | null;
  readonly logExcerpt: string | null;
  readonly logPath: string | null;
}

/** A new run row. `claimed` starts now; `pending` waits for notBeforeMs; the rest are final. */
export interface NewCronRun {
  readonly ref: CronJobRef;
  readonly origin: CronOrigin;
  readonly slotMs: number;
  readonly attempt: number;
  readonly trigger: CronTrigger;
  readonly status: "claimed" | "pending" | "missed" | "skipped";
  readonly notBeforeMs?: number;
  readonly reason?: string;
}

export interface CronRunOutcome {
  readonly status: "succeeded" | "failed" | "timed-out" | "replaced" | "interrupted";
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly reason: string | null;
  readonly logExcerpt: string | null;
  readonly logPath: string | null;
}

interface RawRun {
  id: string;
  project: string;
  environment: string;
  service: string;
  origin: CronOrigin;
  slot_ms: number;
  attempt: number;
  trigger: CronTrigger;
  status: CronRunStatus;
  not_before_ms: number | null;
  claimed_at_ms: number;
  started_at_ms: number | null;
  finished_at_ms: number | null;
  exit_code: number | null;
  signal: string | null;
  reason: string | null;
  log_excerpt: string | null;
  log_path: string | null;
}
const toRun = (r: RawRun): CronRunRow => ({
  id: r.id,
  ref: { project: r.project, environment: r.environment, service: r.service },
  origin: r.origin,
  slotMs: r.slot_ms,
  attempt: r.attempt,
  trigger: r.trigger,
  status: r.status,
  notBeforeMs: r.not_before_ms,
  claimedAtMs: r.claimed_at_ms,
  startedAtMs: r.started_at_ms,
  finishedAtMs: r.finished_at_ms,
  exitCode: r.exit_code,
  signal: r.signal,
  reason: r.reason,
  logExcerpt: r.log_excerpt,
  logPath: r.log_path,
});

interface RawJob {
  project: string;
  environment: string;
  service: string;
  settings: string;
  cursor_ms: number | null;
}
const toJob = (r: RawJob): CronJobRow => ({
  ref: { project: r.project, environment: r.environment, service: r.service },
  settings: fromJson(r.settings),
  cursorMs: r.cursor_ms,
});

const JOB = "project = ? AND environment = ? AND service = ?";
const refArgs = (ref: CronJobRef): [string, string, string] => [ref.project, ref.environment, ref.service];

export class CronRunRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  /** Runs `fn` in one transaction (claims and the cursor move land together). */
  tx<T>(fn: () => T): T {
    return this.#db.tx(fn);
  }

  /** Makes the environment's job list exactly `jobs`; keeps cursors of jobs that stay. */
  syncJobs(env: { readonly project: string; readonly environment: string }, jobs: readonly { ref: CronJobRef; settings: unknown }[], nowMs: number): void {
    this.#db.tx(() => {
      const keep = new Set(jobs.map((j) => j.ref.service));
      const existing = this.#db.sql.prepare("SELECT service FROM cron_jobs WHERE project = ? AND environment = ?").all(env.project, env.environment) as { service: string }[];
      for (const { service } of existing) {
        if (!keep.has(service)) this.#db.sql.prepare(`DELETE FROM cron_jobs WHERE ${JOB}`).run(env.project, env.environment, service);
      }
      for (const job of jobs) {
        this.#db.sql
          .prepare(
            "INSERT INTO cron_jobs (project, environment, service, settings, updated_at_ms) VALUES (?, ?, ?, ?, ?) " +
              "ON CONFLICT (project, environment, service) DO UPDATE SET settings = excluded.settings, updated_at_ms = excluded.updated_at_ms",
          )
          .run(...refArgs(job.ref), toJson(job.settings), nowMs);
      }
    });
  }

  listJobs(env?: { readonly project: string; readonly environment: string }): CronJobRow[] {
    const rows = env
      ? this.#db.sql.prepare("SELECT * FROM cron_jobs WHERE project = ? AND environment = ? ORDER BY service").all(env.project, env.environment)
      : this.#db.sql.prepare("SELECT * FROM cron_jobs ORDER BY project, environment, service").all();
    return (rows as unknown as RawJob[]).map(toJob);
  }

  job(ref: CronJobRef): CronJobRow | undefined {
    const r = this.#db.sql.prepare(`SELECT * FROM cron_jobs WHERE ${JOB}`).get(...refArgs(ref)) as RawJob | undefined;
    return r && toJob(r);
  }

  setCursor(ref: CronJobRef, cursorMs: number): void {
    this.#db.sql.prepare(`UPDATE cron_jobs SET cursor_ms = ? WHERE ${JOB}`).run(cursorMs, ...refArgs(ref));
  }

  /** Inserts a run row; undefined when the (job, origin, slot, attempt) key is already taken. */
  insert(run: NewCronRun, nowMs: number): CronRunRow | undefined {
    const id = newId("run");
    const r = this.#db.sql
      .prepare(
        "INSERT INTO cron_runs (id, project, environment, service, origin, slot_ms, attempt, trigger, status, not_before_ms, claimed_at_ms, reason, finished_at_ms) " +
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      )
      .run(
        id,
        ...refArgs(run.ref),
        run.origin,
        run.slotMs,
        run.attempt,
        run.trigger,
        run.status,
        run.notBeforeMs ?? null,
        nowMs,
        run.reason ?? null,
        run.status === "missed" || run.status === "skipped" ? nowMs : null,
      );
    return r.changes === 1 ? this.byId(id) : undefined;
  }

  /** Compare-and-set claimed|pending -> running. False if another start (or a recovery) won. */
  start(id: string, nowMs: number): boolean {
    return this.#db.sql.prepare("UPDATE cron_runs SET status = 'running', started_at_ms = ? WHERE id = ? AND status IN ('claimed', 'pending')").run(nowMs, id).changes === 1;
  }

  /** Records how a running run ended. False if it was not running (already finished elsewhere). */
  finish(id: string, outcome: CronRunOutcome, nowMs: number): boolean {
    return (
      this.#db.sql
        .prepare("UPDATE cron_runs SET status = ?, exit_code = ?, signal = ?, reason = ?, log_excerpt = ?, log_path = ?, finished_at_ms = ? WHERE id = ? AND status = 'running'")
        .run(outcome.status, outcome.exitCode, outcome.signal, outcome.reason, outcome.logExcerpt, outcome.logPath, nowMs, id).changes === 1
    );
  }

  /** Compare-and-set from one of `from` to a final status that never started (skipped, abandoned). */
  close(id: string, from: readonly CronRunStatus[], to: "skipped" | "abandoned" | "interrupted", reason: string, nowMs: number): boolean {
    const marks = from.map(() => "?").join(", ");
    return this.#db.sql.prepare(`UPDATE cron_runs SET status = ?, reason = ?, finished_at_ms = ? WHERE id = ? AND status IN (${marks})`).run(to, reason, nowMs, id, ...from).changes === 1;
  }

  byId(id: string): CronRunRow | undefined {
    const r = this.#db.sql.prepare("SELECT * FROM cron_runs WHERE id = ?").get(id) as RawRun | undefined;
    return r && toRun(r);
  }

  /** Rows in one of `statuses`, oldest slot first (recovery, pending work). */
  withStatus(statuses: readonly CronRunStatus[]): CronRunRow[] {
    const marks = statuses.map(() => "?").join(", ");
    return (this.#db.sql.prepare(`SELECT * FROM cron_runs WHERE status IN (${marks}) ORDER BY slot_ms, attempt`).all(...statuses) as unknown as RawRun[]).map(toRun);
  }

  /** How many retries a slot has had so far. */
  retriesOf(ref: CronJobRef, origin: CronOrigin, slotMs: number): number {
    const r = this.#db.sql.prepare(`SELECT COUNT(*) AS n FROM cron_runs WHERE ${JOB} AND origin = ? AND slot_ms = ? AND trigger = 'retry'`).get(...refArgs(ref), origin, slotMs) as { n: number };
    return r.n;
  }

  /** The earliest not_before_ms of pending rows, if any. */
  nextPendingMs(): number | undefined {
    const r = this.#db.sql.prepare("SELECT MIN(not_before_ms) AS t FROM cron_runs WHERE status = 'pending'").get() as { t: number | null };
    return r.t ?? undefined;
  }

  /** A job's runs, newest slot first. */
  listRuns(ref: CronJobRef, options: { readonly limit?: number; readonly statuses?: readonly CronRunStatus[] } = {}): CronRunRow[] {
    const statuses = options.statuses ?? [];
    const filter = statuses.length ? ` AND status IN (${statuses.map(() => "?").join(", ")})` : "";
    return (
      this.#db.sql
        .prepare(`SELECT * FROM cron_runs WHERE ${JOB}${filter} ORDER BY slot_ms DESC, attempt DESC LIMIT ?`)
        .all(...refArgs(ref), ...statuses, options.limit ?? 50) as unknown as RawRun[]
    ).map(toRun);
  }
}
