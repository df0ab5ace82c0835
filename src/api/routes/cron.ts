/**
 * Cron jobs over HTTP (issue 8): list an environment's jobs with their next and last run, trigger
 * a manual run, list a job's runs. Reads are `viewer`; a trigger is `deployer` and is audited
 * (the `cron:run:claimed` event carries the token's name as actor). Routes only read and record
 * intent; the scheduler starts the run.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { BerthError } from "../../core/errors.ts";
import { type CronJobView, type CronRunRow, type CronRunStatus, listJobs, listRuns, triggerRun } from "../../cron/api.ts";
import { storeTaskResolver } from "../../cron/resolve-task.ts";
import type { EnvironmentRef, ServiceRef } from "../../engine/engine.ts";
import { visibleProjects } from "../auth.ts";
import type { ApiDeps } from "../types.ts";

const STATUSES = ["pending", "claimed", "running", "succeeded", "failed", "timed-out", "replaced", "interrupted", "skipped", "abandoned", "missed"] as const;

const Run = z.object({
  id: z.string().describe("passed to the job as BERTH_RUN_ID"),
  job: z.string(),
  origin: z.enum(["scheduled", "manual"]),
  trigger: z.enum(["scheduled", "manual", "retry"]),
  attempt: z.number(),
  status: z.enum(STATUSES),
  scheduledAt: z.string().describe("the slot, passed to the job as BERTH_SCHEDULED_AT"),
  notBefore: z.string().nullable(),
  claimedAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
  latenessMs: z.number().nullable().describe("start minus the time the run was due"),
  exitCode: z.number().nullable(),
  signal: z.string().nullable(),
  reason: z.string().nullable(),
  logExcerpt: z.string().nullable(),
});
const Job = z.object({
  name: z.string().describe("project/environment/service"),
  project: z.string(),
  environment: z.string(),
  service: z.string(),
  schedule: z.string(),
  timezone: z.string(),
  command: z.string(),
  concurrency: z.enum(["forbid", "allow", "replace"]),
  maxConcurrent: z.number(),
  timeoutMs: z.number(),
  retry: z.object({ maxRetries: z.number(), initialDelayMs: z.number(), maxDelayMs: z.number(), factor: z.number(), jitter: z.number() }),
  missed: z.object({ policy: z.enum(["skip", "run-once", "run-all"]), maxRuns: z.number() }),
  suspended: z.boolean(),
  nextRunAt: z.string().nullable(),
  lastRun: Run.nullable(),
});
const EnvParams = z.object({ project: z.string(), environment: z.string() });
const JobParams = EnvParams.extend({ job: z.string().describe("the cron service's name") });

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A run row as the API shows it. */
export function runView(r: CronRunRow): z.infer<typeof Run> {
  const dueMs = r.trigger === "scheduled" ? r.slotMs : (r.notBeforeMs ?? r.slotMs);
  return {
    id: r.id,
    job: `${r.ref.project}/${r.ref.environment}/${r.ref.service}`,
    origin: r.origin,
    trigger: r.trigger,
    attempt: r.attempt,
    status: r.status,
    scheduledAt: new Date(r.slotMs).toISOString(),
    notBefore: iso(r.notBeforeMs),
    claimedAt: new Date(r.claimedAtMs).toISOString(),
    startedAt: iso(r.startedAtMs),
    finishedAt: iso(r.finishedAtMs),
    durationMs: r.startedAtMs !== null && r.finishedAtMs !== null ? r.finishedAtMs - r.startedAtMs : null,
    latenessMs: r.startedAtMs !== null ? r.startedAtMs - dueMs : null,
    exitCode: r.exitCode,
    signal: r.signal,
    reason: r.reason,
    logExcerpt: r.logExcerpt,
  };
}

/** A job (settings, next slot, latest run) as the API shows it. */
export function jobView(v: CronJobView): z.infer<typeof Job> {
  const { job } = v;
  return {
    name: v.name,
    ...job.ref,
    schedule: job.schedule,
    timezone: job.timezone,
    command: job.command,
    concurrency: job.concurrency,
    maxConcurrent: job.maxConcurrent,
    timeoutMs: job.timeoutMs,
    retry: { ...job.retry },
    missed: { ...job.missed },
    suspended: job.suspended,
    nextRunAt: v.nextRunAt ?? null,
    lastRun: v.lastRun ? runView(v.lastRun) : null,
  };
}

export const cronRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const { store, clock } = deps;
  const db = store.db;
  /** The environment must exist: a typo gets BERTH_NOT_FOUND, not an empty list. */
  const envOf = (p: z.infer<typeof EnvParams>): EnvironmentRef => {
    store.environments.require(p.project, p.environment);
    return { project: p.project, environment: p.environment };
  };
  const refOf = (p: z.infer<typeof JobParams>): ServiceRef => ({ ...envOf(p), service: p.job });

  app.get(
    "/v1/cron/jobs",
    {
      config: { role: "viewer" },
      schema: {
        tags: ["cron"],
        description: "Cron jobs of every environment the token may see.",
        querystring: z.object({ project: z.string().optional(), environment: z.string().optional(), job: z.string().optional().describe("service name") }),
        response: { 200: z.array(Job) },
      },
    },
    async (request) => {
      const visible = visibleProjects(request);
      const { project, environment, job } = request.query;
      return listJobs(db, undefined, clock.now())
        .filter((v) => (!visible || visible.includes(v.job.ref.project)) && (!project || v.job.ref.project === project))
        .filter((v) => (!environment || v.job.ref.environment === environment) && (!job || v.job.ref.service === job))
        .map(jobView);
    },
  );

  app.get(
    "/v1/projects/:project/environments/:environment/cron/jobs",
    { config: { role: "viewer" }, schema: { tags: ["cron"], params: EnvParams, response: { 200: z.array(Job) } } },
    async (request) => listJobs(db, envOf(request.params), clock.now()).map(jobView),
  );

  app.get(
    "/v1/projects/:project/environments/:environment/cron/jobs/:job/runs",
    {
      config: { role: "viewer" },
      schema: {
        tags: ["cron"],
        description: "A job's runs, newest first.",
        params: JobParams,
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(1000).default(50),
          status: z
            .string()
            .regex(new RegExp(`^(${STATUSES.join("|")})(,(${STATUSES.join("|")}))*$`), `comma-separated statuses: ${STATUSES.join(", ")}`)
            .optional(),
        }),
        response: { 200: z.array(Run) },
      },
    },
    async (request) => {
      const statuses = request.query.status?.split(",") as CronRunStatus[] | undefined;
      return listRuns(db, refOf(request.params), { limit: request.query.limit, ...(statuses ? { statuses } : {}) }).map(runView);
    },
  );

  const resolveTask = storeTaskResolver(db);
  app.post(
    "/v1/projects/:project/environments/:environment/cron/jobs/:job/runs",
    {
      config: { role: "deployer" },
      schema: {
        tags: ["cron"],
        description: "Triggers a manual run now (recorded as manual; it obeys the job's concurrency policy).",
        params: JobParams,
        response: { 202: Run },
      },
    },
    async (request, reply) => {
      const ref = refOf(request.params);
      const view = listJobs(db, ref, clock.now()).find((v) => v.job.ref.service === ref.service);
      if (!view) throw new BerthError("BERTH_CRON_JOB_NOT_FOUND", { job: `${ref.project}/${ref.environment}/${ref.service}` });
      // Refuse up front what could only fail: a job whose service has no release yet.
      await resolveTask(view.job);
      const actor = request.principal!.name;
      const run = deps.cron ? deps.cron.trigger(ref, actor) : triggerRun(db, ref, { nowMs: clock.now(), actor, events: deps.bus });
      reply.status(202);
      return runView(run);
    },
  );
};
