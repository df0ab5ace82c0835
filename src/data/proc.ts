/**
 * Running the datastore programs: one-shot commands (initdb, pg_basebackup, ...) and long-lived
 * servers (postgres, pgbouncer, redis-server) as supervised child processes. Always argv arrays,
 * never shell strings. PostgreSQL and PgBouncer refuse to run as root, so when Berth is root the
 * programs run with the uid/gid of a service account (`postgres`, `redis`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { BerthError } from "../core/errors.ts";
import { redact } from "./secret.ts";

/** The OS identity a program runs as; undefined = the current user. */
export interface RunAs {
  readonly uid: number;
  readonly gid: number;
  readonly user: string;
}

/** The account to run `user`'s programs as: that account when we are root, else ourselves. */
export function runAsFor(user: string): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${user}:`));
  if (!line) throw new BerthError("BERTH_DATA_INPUT_INVALID", { kind: "os", name: user, detail: `OS user '${user}' does not exist (create it with useradd --system ${user})` });
  const f = line.split(":");
  return { user, uid: Number(f[2]), gid: Number(f[3]) };
}

/** The name peer authentication will see for a process we run ourselves. */
export function currentOsUser(): string {
  return process.env.USER ?? (process.getuid?.() === 0 ? "root" : "unknown");
}

export interface RunOptions {
  readonly runAs?: RunAs | undefined;
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Strings to scrub from any error text. */
  readonly secrets?: readonly string[];
  /** Resource name used in error messages. */
  readonly name: string;
  readonly logPath?: string;
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program to completion; a non-zero exit throws BERTH_DATA_PROCESS_FAILED with the stderr tail. */
export function runProgram(program: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8", ...opts.env },
      cwd: opts.cwd ?? "/",
      ...(opts.runAs ? { uid: opts.runAs.uid, gid: opts.runAs.gid } : {}),
      ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr = (stderr + d).slice(-8000);
    });
    const fail = (code: string, detail: string, cause?: unknown) =>
      reject(
        new BerthError(
          "BERTH_DATA_PROCESS_FAILED",
          { program: program.split("/").pop() ?? program, name: opts.name, code, detail: redact(detail, opts.secrets ?? []).trim().slice(-1500), logPath: opts.logPath ?? "(stderr above)" },
          { cause },
        ),
      );
    child.on("error", (e) => fail("spawn", e.message, e));
    child.on("close", (code, sig) => {
      if (code === 0) resolve({ stdout, stderr });
      else fail(String(code ?? sig), stderr || stdout);
    });
  });
}

/** A long-lived server child process whose output goes to a log file. */
export class ServerProcess {
  readonly #child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  #done = false;

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.exited = new Promise((resolve) => {
      child.on("exit", (code, signal) => {
        this.#done = true;
        resolve({ code, signal });
      });
      child.on("error", () => {
        this.#done = true;
        resolve({ code: null, signal: null });
      });
    });
  }

  /** Spawns `program args` with stdout and stderr appended to `logPath`. */
  static start(program: string, args: readonly string[], opts: { runAs?: RunAs | undefined; logPath: string; env?: Readonly<Record<string, string>> }): ServerProcess {
    const fd = openSync(opts.logPath, "a", 0o600);
    try {
      const child = spawn(program, args, {
        stdio: ["ignore", fd, fd],
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8", ...opts.env },
        cwd: "/",
        ...(opts.runAs ? { uid: opts.runAs.uid, gid: opts.runAs.gid } : {}),
      });
      return new ServerProcess(child);
    } finally {
      closeSync(fd);
    }
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  get running(): boolean {
    return !this.#done;
  }

  /**
   * Sends `signal` (the program's graceful or fast shutdown signal) and waits; after `timeoutMs`
   * escalates to SIGKILL so stop() always returns.
   */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 15_000): Promise<void> {
    if (this.#done) return;
    this.#child.kill(signal);
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), timeoutMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Polls `probe` until it resolves true, the process exits, or the deadline passes. */
export async function waitReady(probe: () => Promise<boolean>, opts: { deadlineMs: number; proc?: ServerProcess; intervalMs?: number }): Promise<boolean> {
  const until = Date.now() + opts.deadlineMs;
  while (Date.now() < until) {
    if (opts.proc && !opts.proc.running) return false;
    if (await probe().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
  return false;
}

/** The last lines of a log file, for error messages. */
export function logTail(path: string, lines = 15): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Stops a server left running by an earlier Berth process (a daemon crash orphans its
 * children): reads the pid from the first line of `pidFile`, checks that the process is the
 * expected program, signals it and waits for it to go. Returns whether there was one.
 */
export async function stopOrphan(pidFile: string, program: string, signal: NodeJS.Signals, timeoutMs = 30_000): Promise<boolean> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  } catch {
    return false;
  }
  const alive = () => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(program);
    } catch {
      return false;
    }
  };
  if (!Number.isInteger(pid) || pid <= 1 || !alive()) return false;
  process.kill(pid, signal);
  const until = Date.now() + timeoutMs;
  while (alive() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  if (alive()) process.kill(pid, "SIGKILL");
  return true;
}
