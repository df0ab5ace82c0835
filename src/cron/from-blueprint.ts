/**
 * Cron jobs from a resolved blueprint: what the reconciler passes to `syncJobs`. The blueprint
 * already validated the schedule and normalized durations; settings it has no field for (the
 * run-all cap, jitter, grace) take cron's defaults.
 */
import type { Blueprint, CronService } from "../blueprint/index.ts";
import type { EnvironmentRef } from "../engine/engine.ts";
import { CRON_DEFAULTS, type CronJobInput } from "./job.ts";

/** One blueprint cron service as job settings for `env`. */
export function cronJobFromService(env: EnvironmentRef, svc: CronService): CronJobInput {
  return {
    ref: { project: env.project, environment: env.environment, service: svc.name },
    schedule: svc.schedule,
    timezone: svc.timezone,
    command: svc.command,
    concurrency: svc.concurrency,
    maxConcurrent: svc.maxConcurrent,
    timeoutMs: svc.timeoutMs,
    retry: {
      maxRetries: svc.retries.max,
      initialDelayMs: svc.retries.backoffMs,
      maxDelayMs: Math.max(svc.retries.backoffMs, svc.retries.maxBackoffMs),
      factor: svc.retries.factor,
      jitter: CRON_DEFAULTS.retry.jitter,
    },
    missed: { policy: svc.missedRuns, maxRuns: CRON_DEFAULTS.missed.maxRuns },
  };
}

/** Every cron service of a resolved environment blueprint. */
export function cronJobsFromBlueprint(env: EnvironmentRef, blueprint: Blueprint): CronJobInput[] {
  return blueprint.services.filter((s): s is CronService => s.type === "cron").map((s) => cronJobFromService(env, s));
}
