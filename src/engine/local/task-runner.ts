/**
 * One-off commands (cron runs, pre-deploy, console tasks): same launch plan and isolation as an
 * instance, ordinary pipes for output (a task does not outlive the daemon), a timeout that
 * stops the whole group, and the exit code, signal and OOM verdict as the result.
 */
import { spawn } from "node:child_process";
import type { Clock } from "../../core/clock.ts";
import type { LogLine, TaskResult, TaskSpec } from "../engine.ts";
import { type DiskMount, type Isolation, planLaunch } from "../../sandbox/launch.ts";
import { LineSplitter } from "./log-files.ts";
import { reapGroup, stopGroup } from "./process-group.ts";

export interface LocalTaskInput {
  readonly spec: TaskSpec;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly disks: readonly DiskMount[];
  readonly isolation: Isolation;
  readonly signal: AbortSignal;
  readonly clock: Clock;
  readonly maxLineBytes: number;
  readonly onLine: (line: LogLine) => void;
  readonly oomKills: () => number;
  /** Failed forks at the task's process limit; a hit stops the task (issue 17). */
  readonly pidsLimitHits?: () => number;
  /** Called once when the process limit stopped the task. */
  readonly onPidsLimit?: (hits: number) => void;
}

/** Grace between SIGTERM and SIGKILL when a task times out or is aborted. */
const TASK_KILL_GRACE_MS = 5000;

export function runLocalTask(input: LocalTaskInput): Promise<TaskResult> {
  const { spec, clock } = input;
  const t0 = clock.now();
  const plan = planLaunch({ command: spec.command, cwd: input.cwd, env: input.env, disks: input.disks, isolation: input.isolation });
  return new Promise<TaskResult>((resolve) => {
    const child = spawn(plan.file, [...plan.args], { cwd: plan.cwd, env: { ...plan.env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let timedOut = false;
    let stopping: Promise<unknown> | undefined;
    const stop = (): void => {
      if (child.pid !== undefined && !stopping) stopping = stopGroup(child.pid, Math.min(TASK_KILL_GRACE_MS, spec.service.shutdownDelayMs));
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, spec.timeoutMs);
    const onAbort = (): void => stop();
    const watch = input.pidsLimitHits
      ? setInterval(() => {
          const hits = input.pidsLimitHits!();
          if (hits === 0) return;
          clearInterval(watch);
          input.onPidsLimit?.(hits);
          stop();
        }, 1000)
      : undefined;
    input.signal.addEventListener("abort", onAbort, { once: true });
    const pipes = [["stdout", child.stdout], ["stderr", child.stderr]] as const;
    const ended = pipes.map(
      ([stream, pipe]) =>
        new Promise<void>((done) => {
          const split = new LineSplitter(input.maxLineBytes);
          const emit = (texts: string[]): void => {
            const at = new Date(clock.now()).toISOString();
            for (const line of texts) input.onLine({ at, instance: spec.id, stream, line });
          };
          pipe.setEncoding("utf8");
          pipe.on("data", (c: string) => emit(split.push(c)));
          pipe.on("end", () => {
            emit(split.flush());
            done();
          });
          pipe.on("error", () => done());
        }),
    );
    const finish = async (code: number | null, sig: string | null): Promise<void> => {
      clearTimeout(timer);
      clearInterval(watch);
      input.signal.removeEventListener("abort", onAbort);
      if (child.pid !== undefined) await reapGroup(child.pid);
      await stopping;
      // Output may trail the exit a little; do not wait for it forever (a grandchild may hold it).
      await Promise.race([Promise.all(ended), new Promise((r) => setTimeout(r, 1000))]);
      const oom = input.oomKills() > 0;
      resolve({ exitCode: code, signal: sig, timedOut, oom, durationMs: clock.now() - t0 });
    };
    child.once("exit", (code, sig) => void finish(code, sig));
    child.once("error", () => void finish(127, null));
  });
}
