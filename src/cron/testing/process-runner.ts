/**
 * A TaskRunner on real child processes, for cron's real-time tests and the bench while no
 * engine is wired in: runs the command line with `/bin/sh -c` in the release directory (as the
 * local engine does), in its own process group so abort and timeout stop the whole tree.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { TaskResult, TaskSpec } from "../../engine/engine.ts";
import type { TaskRunner } from "../task.ts";

export interface ProcessRunnerOptions {
  /** SIGTERM -> SIGKILL delay when a run is aborted or times out. */
  readonly killAfterMs?: number;
}

export function processRunner(options: ProcessRunnerOptions = {}): TaskRunner {
  const killAfterMs = options.killAfterMs ?? 2000;
  return (spec: TaskSpec, signal: AbortSignal) =>
    new Promise<TaskResult>((resolve) => {
      const startMs = Date.now();
      const cwd = spec.release.artifact.kind === "dir" ? spec.release.artifact.path : undefined;
      const child = spawn("/bin/sh", ["-c", spec.command], {
        cwd,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...spec.extraEnv },
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let timedOut = false;
      let killTimer: NodeJS.Timeout | undefined;
      const stop = () => {
        if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
        try {
          process.kill(-child.pid, "SIGTERM");
        } catch {}
        killTimer = setTimeout(() => {
          try {
            process.kill(-(child.pid as number), "SIGKILL");
          } catch {}
        }, killAfterMs);
      };
      const timeout = setTimeout(() => {
        timedOut = true;
        stop();
      }, spec.timeoutMs);
      const onAbort = () => stop();
      signal.addEventListener("abort", onAbort, { once: true });
      if (signal.aborted) stop();
      for (const [stream, name] of [
        [child.stdout, "stdout"],
        [child.stderr, "stderr"],
      ] as const) {
        createInterface({ input: stream }).on("line", (line) => spec.onLog?.({ at: new Date().toISOString(), instance: spec.id, stream: name, line }));
      }
      child.on("close", (code, sig) => {
        clearTimeout(timeout);
        clearTimeout(killTimer);
        signal.removeEventListener("abort", onAbort);
        resolve({ exitCode: code, signal: sig, timedOut, oom: false, durationMs: Date.now() - startMs });
      });
      child.on("error", () => {});
    });
}
