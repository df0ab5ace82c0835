/**
 * `berth cron list|run|runs` (issue 8). A job is named `project/environment/service` (as `cron
 * list` prints it) or by its service name alone, narrowed with --project/--env; a name that fits
 * several jobs is refused with the candidates, never guessed.
 */
import type { Command } from "commander";
import { BerthError } from "../../core/errors.ts";
import type { ApiClient } from "../client.ts";
import type { CliContext } from "../context.ts";
import { outFor, paint, printJson, table } from "../output.ts";

interface Filter {
  project?: string;
  env?: string;
  json?: boolean;
}

/** The fields of GET /v1/cron/... the CLI shows (see src/api/routes/cron.ts). */
interface RunView {
  id: string;
  job: string;
  origin: string;
  trigger: string;
  attempt: number;
  status: string;
  scheduledAt: string;
  startedAt: string | null;
  durationMs: number | null;
  exitCode: number | null;
  reason: string | null;
}
interface JobView {
  name: string;
  project: string;
  environment: string;
  service: string;
  schedule: string;
  timezone: string;
  concurrency: string;
  maxConcurrent: number;
  suspended: boolean;
  nextRunAt: string | null;
  lastRun: RunView | null;
}

const enc = encodeURIComponent;
const jobPath = (j: Pick<JobView, "project" | "environment" | "service">) =>
  `/v1/projects/${enc(j.project)}/environments/${enc(j.environment)}/cron/jobs/${enc(j.service)}`;

function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** Resolves `<job>` to exactly one job, or throws a catalogue error naming what to type instead. */
export async function resolveJob(client: ApiClient, name: string, opts: Filter): Promise<JobView> {
  const parts = name.split("/");
  if (parts.length !== 1 && parts.length !== 3) {
    throw new BerthError("BERTH_USAGE", { detail: `'${name}' is not a job name: write the service name or project/environment/service` });
  }
  const [project, environment, service] = parts.length === 3 ? parts : [opts.project, opts.env, name];
  const jobs = await client.request<JobView[]>("GET", `/v1/cron/jobs${query({ project, environment, job: service })}`);
  if (jobs.length === 1) return jobs[0]!;
  if (jobs.length === 0) throw new BerthError("BERTH_CRON_JOB_NOT_FOUND", { job: [project ?? "*", environment ?? "*", service].join("/") });
  throw new BerthError("BERTH_USAGE", {
    detail: `cron job '${name}' is ambiguous: ${jobs.map((j) => j.name).join(", ")}; name it as project/environment/service or pass --project and --env`,
  });
}

const ago = (iso: string | null) => iso ?? "-";
const took = (ms: number | null) => (ms === null ? "-" : ms < 10_000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`);

const FINAL = new Set(["succeeded", "failed", "timed-out", "replaced", "interrupted", "skipped", "abandoned", "missed"]);

/**
 * Polls until a triggered run has ended. A failed attempt that will be retried has its retry row
 * recorded in the same transaction as its outcome, so "the newest attempt of this slot is final"
 * means the run, retries included, is over. Ctrl-C stops waiting, not the run.
 */
async function waitForRun(client: ApiClient, job: JobView, run: RunView): Promise<RunView> {
  const stop = new AbortController();
  const onInt = () => stop.abort();
  process.once("SIGINT", onInt);
  try {
    for (;;) {
      const runs = await client.request<RunView[]>("GET", `${jobPath(job)}/runs?limit=200`);
      const attempts = runs.filter((r) => r.origin === "manual" && r.scheduledAt === run.scheduledAt).sort((a, b) => b.attempt - a.attempt);
      const newest = attempts[0];
      if (newest && FINAL.has(newest.status)) return newest;
      if (stop.signal.aborted) throw new BerthError("BERTH_USAGE", { detail: `stopped waiting; run ${run.id} goes on (see \`berth cron runs ${job.name}\`)` });
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    process.removeListener("SIGINT", onInt);
  }
}

export function registerCronCommands(program: Command, ctx: CliContext): void {
  const cron = program.command("cron").description("cron jobs: schedules, manual runs and run history");
  const narrowing = (c: Command) =>
    c
      .option("--project <name>", "only this project (default: the directory's link)")
      .option("--env <name>", "only this environment (default: the directory's link)")
      .option("--json", "machine-readable output");

  narrowing(cron.command("list").description("cron jobs with their schedule, next run and last run").option("--all", "every project's jobs, whatever the directory")).action(async (opts: Filter) => {
    const out = outFor(opts);
    const jobs = await ctx.client().request<JobView[]>("GET", `/v1/cron/jobs${query({ project: opts.project, environment: opts.env })}`);
    if (out.json) return printJson(jobs);
    if (jobs.length === 0) {
      process.stdout.write("no cron jobs (a cron job is a service of `type: cron` in berth.yaml)\n");
      return;
    }
    const status = (r: RunView | null) => {
      if (!r) return "-";
      const colour = r.status === "succeeded" ? "green" : r.status === "running" || r.status === "pending" ? "cyan" : "red";
      return `${paint(out, colour, r.status)} ${r.startedAt ?? r.scheduledAt}${r.exitCode !== null ? ` (exit ${r.exitCode})` : ""}`;
    };
    const rows = jobs.map((j) => [
      j.name,
      `${j.schedule} ${j.timezone}`,
      j.concurrency === "allow" ? `allow, max ${j.maxConcurrent}` : j.concurrency,
      j.suspended ? "suspended" : ago(j.nextRunAt),
      status(j.lastRun),
    ]);
    process.stdout.write(`${table([["JOB", "SCHEDULE", "CONCURRENCY", "NEXT RUN", "LAST RUN"], ...rows])}\n`);
  });

  narrowing(
    cron
      .command("run <job>")
      .description("run a job now (recorded as a manual run; obeys its concurrency policy)")
      .option("--wait", "wait for the run (and its retries) to end; exit 1 unless it succeeded"),
  ).action(async (name: string, opts: Filter & { wait?: boolean }) => {
    const client = ctx.client();
    const job = await resolveJob(client, name, opts);
    const run = await client.request<RunView>("POST", `${jobPath(job)}/runs`);
    if (!opts.wait) {
      if (opts.json) return printJson(run);
      process.stdout.write(`triggered ${job.name}: run ${run.id} (manual)\nfollow it with \`berth cron runs ${job.name}\`\n`);
      return;
    }
    if (!opts.json) process.stderr.write(`triggered ${job.name}: run ${run.id} (manual); waiting for it to end\n`);
    const last = await waitForRun(client, job, run);
    if (last.status !== "succeeded") process.exitCode = 1;
    if (opts.json) return printJson(last);
    const exit = last.exitCode === null ? "" : ` (exit ${last.exitCode})`;
    process.stdout.write(`${job.name}: ${last.status}${exit} after ${took(last.durationMs)}, attempt ${last.attempt}${last.reason ? `: ${last.reason}` : ""}\n`);
  });

  narrowing(
    cron
      .command("runs <job>")
      .description("a job's runs, newest first")
      .option("--limit <n>", "at most this many runs", "20")
      .option("--status <list>", "only these statuses, comma-separated (e.g. failed,timed-out)"),
  ).action(async (name: string, opts: Filter & { limit: string; status?: string }) => {
    if (!/^\d+$/.test(opts.limit) || Number(opts.limit) < 1) throw new BerthError("BERTH_USAGE", { detail: `--limit: expected a positive integer, got '${opts.limit}'` });
    const client = ctx.client();
    const job = await resolveJob(client, name, opts);
    const runs = await client.request<RunView[]>("GET", `${jobPath(job)}/runs${query({ limit: opts.limit, status: opts.status })}`);
    if (opts.json) return printJson(runs);
    if (runs.length === 0) {
      process.stdout.write(`no runs of ${job.name} yet (next: ${ago(job.nextRunAt)})\n`);
      return;
    }
    const rows = runs.map((r) => [
      r.id,
      r.trigger,
      String(r.attempt),
      r.status,
      r.scheduledAt,
      took(r.durationMs),
      r.exitCode === null ? "-" : String(r.exitCode),
      r.reason ?? "",
    ]);
    process.stdout.write(`${table([["RUN", "TRIGGER", "ATTEMPT", "STATUS", "SCHEDULED", "TOOK", "EXIT", "REASON"], ...rows])}\n`);
  });
}
