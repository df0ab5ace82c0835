/**
 * One attempt of a cron run as an Engine task: the TaskSpec it is started with, the runner seam,
 * and how a TaskResult maps to the run's recorded outcome.
 */
import type { LogLine, Release, ServiceSpec, TaskResult, TaskSpec } from "../engine/engine.ts";
import type { CronRunOutcome, CronRunRow } from "../store/repositories/cron-runs.ts";
import type { CronJob } from "./job.ts";

/** Runs a task; `Engine.runTask` satisfies it (pass `engine.runTask.bind(engine)`). */
export type TaskRunner = (spec: TaskSpec, signal: AbortSignal) => Promise<TaskResult>;

/** What a job's task runs against: the service's spec and its current release. */
export interface TaskTarget {
  readonly service: ServiceSpec;
  readonly release: Release;
}

/** Looks up the current release of a job's service; throws if it has none yet. */
export type TaskResolver = (job: CronJob) => Promise<TaskTarget>;

/** The env a run gets on top of the release env, so the job can be idempotent. */
export function runEnv(run: CronRunRow): Record<string, string> {
  return {
    BERTH_RUN_ID: run.id,
    BERTH_SCHEDULED_AT: new Date(run.slotMs).toISOString(),
    BERTH_RUN_ATTEMPT: String(run.attempt),
    BERTH_RUN_TRIGGER: run.trigger,
  };
}

export function taskSpec(job: CronJob, run: CronRunRow, target: TaskTarget, onLog: (line: LogLine) => void): TaskSpec {
  return {
    id: run.id,
    kind: "cron",
    service: target.service,
    release: target.release,
    command: job.command,
    extraEnv: runEnv(run),
    timeoutMs: job.timeoutMs,
    onLog,
  };
}

/** Keeps the last lines of output within a byte budget, for the run's log excerpt. */
export class LogTail {
  readonly #maxLines: number;
  readonly #maxChars: number;
  #lines: string[] = [];
  constructor(maxLines = 20, maxChars = 4000) {
    this.#maxLines = maxLines;
    this.#maxChars = maxChars;
  }
  push(line: LogLine): void {
    this.#lines.push(`${line.stream === "stderr" ? "! " : ""}${line.line}`);
    if (this.#lines.length > this.#maxLines) this.#lines.shift();
  }
  text(): string | null {
    if (this.#lines.length === 0) return null;
    const all = this.#lines.join("\n");
    return all.length > this.#maxChars ? all.slice(all.length - this.#maxChars) : all;
  }
}

/** Why an attempt ended, besides the task's own result. */
export interface EndContext {
  readonly replacedBy?: string;
  readonly stopping: boolean;
  /** Our own timeout fired (the engine reports its own through `timedOut`). */
  readonly timedOut: boolean;
}

/** Maps a task result (or a thrown error) to the outcome recorded for the run. Pure. */
export function classify(result: TaskResult | Error, end: EndContext): Omit<CronRunOutcome, "logExcerpt" | "logPath"> {
  const exitCode = result instanceof Error ? null : result.exitCode;
  const signal = result instanceof Error ? null : result.signal;
  if (end.replacedBy) return { status: "replaced", exitCode, signal, reason: `replaced by run ${end.replacedBy} (concurrency: replace)` };
  if (end.timedOut || (!(result instanceof Error) && result.timedOut)) return { status: "timed-out", exitCode, signal, reason: "timed out" };
  if (end.stopping) return { status: "interrupted", exitCode, signal, reason: "scheduler stopped during the run" };
  if (result instanceof Error) return { status: "failed", exitCode, signal, reason: result.message };
  if (result.exitCode === 0) return { status: "succeeded", exitCode, signal, reason: null };
  const why = result.oom ? "killed: out of memory" : result.signal ? `killed by ${result.signal}` : `exit code ${result.exitCode}`;
  return { status: "failed", exitCode, signal, reason: why };
}
