/**
 * Runs a build step as an argv array with a timeout and line-by-line output. Builds run at low
 * CPU priority (nice) so they cannot starve running services.
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

export interface StepOptions {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  readonly onLog: (line: LogLine) => void;
  readonly label: string;
  /**
   * Host paths outside the build directory the step reads (the tool cache entries of its Node,
   * package manager, npm): a sandboxed step must see them read-only. Not used while steps run
   * unsandboxed.
   */
  readonly readOnlyPaths?: readonly string[];
}

export function runStep(argv: readonly string[], o: StepOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = ["nice", "-n", "10", ...argv];
    const child = spawn(cmd!, args, { cwd: o.cwd, env: o.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
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
    };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, o.timeoutMs);
    o.signal.addEventListener("abort", kill, { once: true });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new BerthError("BERTH_BUILD_FAILED", { step: o.label, detail: e.message }, { cause: e }));
    });
    child.on("close", (code, sig) => {
      clearTimeout(timer);
      o.signal.removeEventListener("abort", kill);
      if (code === 0) return resolve();
      const details: StepTail[] = [{ kind: "step-tail", step: o.label, lines: [...tail] }];
      if (timedOut) return reject(new BerthError("BERTH_BUILD_FAILED", { step: o.label, detail: `timed out after ${o.timeoutMs} ms` }, { details }));
      const trust = diagnoseTrust(tail, o.env);
      if (trust) {
        const vars = trust.variables.map((v) => `${v.name} (${v.set ? "set" : "not set"})`).join(", ");
        return reject(new BerthError("BERTH_BUILD_TLS_UNTRUSTED", { step: o.label, marker: trust.marker, variables: vars }, { details }));
      }
      reject(new BerthError("BERTH_BUILD_FAILED", { step: o.label, detail: `\`${argv.join(" ")}\` exited with ${code ?? sig}` }, { details }));
    });
  });
}
