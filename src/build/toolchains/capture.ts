/**
 * Runs a short command and returns its stdout (registry look-ups, interpreter versions). Build
 * steps whose output belongs in the build log go through `runStep` instead.
 */
import { execFile } from "node:child_process";

export interface CaptureOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

/** Resolves stdout; rejects with an Error whose message carries the command's last stderr lines. */
export function capture(argv: readonly string[], o: CaptureOptions): Promise<string> {
  const [file, ...args] = argv;
  return new Promise((resolve, reject) => {
    execFile(file!, args, { env: o.env, cwd: o.cwd, timeout: o.timeoutMs, signal: o.signal, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const tail = `${stderr}`.trim().split("\n").slice(-8).join("\n");
      reject(Object.assign(new Error(tail || err.message), { stderr: `${stderr}`, cause: err }));
    });
  });
}
