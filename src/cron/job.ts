/**
 * A cron job's identity and settings. A job is a service of kind `cron`, so its identity is the
 * service's {project, environment, service}; settings are resolved once (defaults filled in,
 * durations in ms) and validated here, at the edge, before anything is scheduled.
 */
import { BerthError } from "../core/errors.ts";
import type { ServiceRef } from "../engine/engine.ts";
import { parseSchedule } from "./schedule.ts";

/** What to do when a job's service is still running its previous slot. */
export type ConcurrencyPolicy = "forbid" | "allow" | "replace";

/** What to do with slots that passed while the daemon was down (or whose claim was abandoned). */
export type MissedPolicy = "skip" | "run-once" | "run-all";

export interface RetrySettings {
  /** Retries after the first attempt (0 = no retry). */
  readonly maxRetries: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Growth per attempt: delay = initial * factor^(retry-1), capped at maxDelayMs. */
  readonly factor: number;
  /** 0..1: the delay is spread uniformly over [delay*(1-jitter), delay]. */
  readonly jitter: number;
}

/** A job with every setting resolved. Frozen; passed down explicitly. */
export interface CronJob {
  readonly ref: ServiceRef;
  /** Cron expression: 5 fields, 6 with seconds, or a shortcut (`@hourly`). */
  readonly schedule: string;
  /** IANA time zone the schedule is read in. */
  readonly timezone: string;
  /** The command line, run as a task of the service's current release. */
  readonly command: string;
  readonly concurrency: ConcurrencyPolicy;
  /** Runs of this job at once under `allow` (forbid and replace imply 1). */
  readonly maxConcurrent: number;
  readonly timeoutMs: number;
  readonly retry: RetrySettings;
  readonly missed: { readonly policy: MissedPolicy; readonly maxRuns: number };
  /** A slot started later than this after its time counts as missed (daemon down, host asleep). */
  readonly graceMs: number;
  readonly suspended: boolean;
}

/** What users may leave out; `resolveCronJob` fills the rest with defaults. */
export type CronJobInput = Pick<CronJob, "ref" | "schedule" | "command"> &
  Partial<Omit<CronJob, "ref" | "schedule" | "command" | "retry" | "missed">> & {
    readonly retry?: Partial<RetrySettings>;
    readonly missed?: Partial<CronJob["missed"]>;
  };

export const CRON_DEFAULTS = {
  timezone: "UTC",
  concurrency: "forbid",
  maxConcurrent: 1,
  timeoutMs: 3_600_000,
  retry: { maxRetries: 0, initialDelayMs: 30_000, maxDelayMs: 600_000, factor: 2, jitter: 0.2 },
  missed: { policy: "skip", maxRuns: 10 },
  graceMs: 60_000,
  suspended: false,
} as const;

/** `project/environment/service`, the job's name in CLI output and logs. */
export function jobKey(ref: ServiceRef): string {
  return `${ref.project}/${ref.environment}/${ref.service}`;
}

/** Fills defaults and validates; throws BerthError naming the bad field. */
export function resolveCronJob(input: CronJobInput): CronJob {
  const job = jobKey(input.ref);
  const retry = { ...CRON_DEFAULTS.retry, ...input.retry };
  const missed = { ...CRON_DEFAULTS.missed, ...input.missed };
  const resolved: CronJob = {
    ref: { project: input.ref.project, environment: input.ref.environment, service: input.ref.service },
    schedule: input.schedule.trim(),
    timezone: input.timezone ?? CRON_DEFAULTS.timezone,
    command: input.command,
    concurrency: input.concurrency ?? CRON_DEFAULTS.concurrency,
    maxConcurrent: input.concurrency === "allow" ? (input.maxConcurrent ?? CRON_DEFAULTS.maxConcurrent) : 1,
    timeoutMs: input.timeoutMs ?? CRON_DEFAULTS.timeoutMs,
    retry,
    missed,
    graceMs: input.graceMs ?? CRON_DEFAULTS.graceMs,
    suspended: input.suspended ?? CRON_DEFAULTS.suspended,
  };
  const bad = (field: string, detail: string) => new BerthError("BERTH_CRON_SETTINGS_INVALID", { field, job, detail });
  if (!["forbid", "allow", "replace"].includes(resolved.concurrency)) throw bad("concurrency", "expected forbid, allow or replace");
  if (!["skip", "run-once", "run-all"].includes(missed.policy)) throw bad("missed.policy", "expected skip, run-once or run-all");
  if (!Number.isInteger(resolved.maxConcurrent) || resolved.maxConcurrent < 1) throw bad("maxConcurrent", "expected an integer >= 1");
  if (!Number.isInteger(missed.maxRuns) || missed.maxRuns < 1) throw bad("missed.maxRuns", "expected an integer >= 1");
  if (!(resolved.timeoutMs > 0)) throw bad("timeout", "expected a duration > 0");
  if (!(resolved.graceMs >= 0)) throw bad("grace", "expected a duration >= 0");
  if (!Number.isInteger(retry.maxRetries) || retry.maxRetries < 0) throw bad("retry.maxRetries", "expected an integer >= 0");
  if (!(retry.initialDelayMs >= 0) || !(retry.maxDelayMs >= retry.initialDelayMs)) throw bad("retry.delay", "expected 0 <= initial <= max");
  if (!(retry.factor >= 1)) throw bad("retry.factor", "expected a number >= 1");
  if (!(retry.jitter >= 0 && retry.jitter <= 1)) throw bad("retry.jitter", "expected a number between 0 and 1");
  if (resolved.command.trim() === "") throw bad("command", "expected a command line");
  parseSchedule(resolved.schedule, resolved.timezone, job);
  return Object.freeze(resolved);
}
