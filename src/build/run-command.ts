/**
 * Runs a build step as an argv array with a timeout and line-by-line output. Builds run at low
 * CPU priority (nice) so they cannot starve running services, and, as root, in the build's
 * sandbox (`launch`, see sandbox.ts): a step stopped by a limit fails naming the limit.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { BerthError } from "../core/errors.ts";
import type { LogLine } from "../engine/engine.ts";
import { diagnoseTrust } from "./build-env.ts";

/** Lines of a failed step kept for its error (the CLI shows them; the full log is in events). */
export const FAILED_STEP_TAIL_LINES = 20;

/** The last lines of a failed step, attached to its BERTH_BUILD_FAILED error's details. */
export interface StepTail {
  readonly kind: "step-tail";
  readonly step: string;
  readonly lines: readonly string[];
}
import type { LaunchPlan } from "../sandbox/launch.ts";

export interface StepOptions {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  readonly onLog: (line: LogLine) => void;
  readonly label: string;
  /**
   * Host paths outside the build directory the step reads (the tool cache entries of its Node,
   * package manager, npm): a sandboxed step sees them read-only (passed to `launch`).
   */
  readonly readOnlyPaths?: readonly string[];
  /** Wraps the argv into the sandboxed process (user, bubblewrap, cgroup); absent: run as is. */
  readonly launch?: (argv: readonly string[], cwd: string, env: Readonly<Record<string, string | undefined>>, readOnlyPaths: readonly string[]) => LaunchPlan;
  /** The limit that stopped the step, if one did (pids or memory), read at its end. */
  readonly limitReached?: () => { readonly limit: "pids" | "memory"; readonly max: number } | undefined;
  /** Kills whatever is left in the step's cgroup (a process that left the process group). */
  readonly killAll?: () => void;
  /** Names the service in limit errors. */
  readonly service?: string;
}

const showLimit = (limit: string, max: number): string => (limit === "memory" ? `${Math.round(max / 1024 ** 2)} MiB` : limit === "pids" ? `${max} processes` : `${max} ms`);

export function runStep(argv: readonly string[], o: StepOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const niced = ["nice", "-n", "10", ...argv];
    const plan = o.launch ? o.launch(niced, o.cwd, o.env, o.readOnlyPaths ?? []) : { file: niced[0]!, args: niced.slice(1), env: o.env, cwd: o.cwd };
    const child = spawn(plan.file, [...plan.args], { cwd: plan.cwd, env: plan.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const tail: string[] = [];
    const emit = (stream: "stdout" | "stderr") => (line: string) => {
      tail.push(line);
      if (tail.length > FAILED_STEP_TAIL_LINES) tail.shift();
      o.onLog({ at: new Date().toISOString(), instance: o.label, stream, line });
    };
    createInterface({ input: child.stdout }).on("line", emit("stdout"));
    createInterface({ input: child.stderr }).on("line", emit("stderr"));
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
      o.killAll?.();
    };
    // A fork past the process limit fails inside the step; stop the step rather than let it limp.
    const watch = o.limitReached
      ? setInterval(() => {
          if (o.limitReached?.()?.limit === "pids") kill();
        }, 1000)
      : undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, o.timeoutMs);
    o.signal.addEventListener("abort", kill, { once: true });
    child.on("error", (e) => {
      clearTimeout(timer);
      clearInterval(watch);
      reject(new BerthError("BERTH_BUILD_FAILED", { step: o.label, detail: e.message }, { cause: e }));
    });
    child.on("close", (code, sig) => {
      clearTimeout(timer);
      clearInterval(watch);
      o.signal.removeEventListener("abort", kill);
      o.killAll?.();
      const details: StepTail[] = [{ kind: "step-tail", step: o.label, lines: [...tail] }];
      const limit = o.limitReached?.();
      if (limit) return reject(new BerthError("BERTH_BUILD_LIMIT", { step: o.label, service: o.service ?? "the service", limit: limit.limit, value: showLimit(limit.limit, limit.max) }, { details }));
      if (code === 0) return resolve();
      if (timedOut) return reject(new BerthError("BERTH_BUILD_LIMIT", { step: o.label, service: o.service ?? "the service", limit: "timeout", value: `${Math.round(o.timeoutMs / 1000)} s` }, { details }));
      const trust = diagnoseTrust(tail, o.env);
      if (trust) {
        const vars = trust.variables.map((v) => `${v.name} (${v.set ? "set" : "not set"})`).join(", ");
        return reject(new BerthError("BERTH_BUILD_TLS_UNTRUSTED", { step: o.label, marker: trust.marker, variables: vars }, { details }));
      }
      reject(new BerthError("BERTH_BUILD_FAILED", { step: o.label, detail: `\`${argv.join(" ")}\` exited with ${code ?? sig}` }, { details }));
    });
  });
}
