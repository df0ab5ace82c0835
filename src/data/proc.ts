/**
 * Running the datastore programs: one-shot commands (initdb, pg_basebackup, ...) and long-lived
 * servers (postgres, pgbouncer, redis-server) as supervised child processes. Always argv arrays,
 * never shell strings. PostgreSQL and PgBouncer refuse to run as root, so when Berth is root the
 * programs run with the uid/gid of a service account (`postgres`, `redis`).
 */
import { spawn } from "node:child_process";
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

/** Whether `pid` is alive and its command line names `program` (a reused pid is not ours). */
export function pidIs(pid: number, program: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(program);
  } catch {
    return false;
  }
}

/** The pid in the first line of a server's pid file, when that process is alive and is `program`. */
export function livePid(pidFile: string, program: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && pid > 1 && pidIs(pid, program) ? pid : undefined;
}

/**
 * A long-lived server: a child we spawned (output appended to a log file), or one a previous
 * daemon left running and this one adopted by pid. Servers run in their own process group, so a
 * Ctrl-C or a SIGTERM aimed at the daemon's group does not reach them: the daemon's life and the
 * databases' lives are separate, and a restarted daemon adopts them instead of restarting them.
 */
export class ServerProcess {
  readonly #kill: (signal: NodeJS.Signals) => void;
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  /** True for a server found running (not spawned by this process). */
  readonly adopted: boolean;
  #done = false;
  #stopping = false;

  private constructor(pid: number, kill: (signal: NodeJS.Signals) => void, exited: Promise<{ code: number | null; signal: string | null }>, adopted: boolean) {
    this.pid = pid;
    this.#kill = kill;
    this.adopted = adopted;
    this.exited = exited.then((r) => {
      this.#done = true;
      return r;
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
        detached: true,
        ...(opts.runAs ? { uid: opts.runAs.uid, gid: opts.runAs.gid } : {}),
      });
      // The daemon may exit and leave it running (it is adopted next start): do not hold the loop.
      child.unref();
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
        child.on("exit", (code, signal) => resolve({ code, signal }));
        child.on("error", () => resolve({ code: null, signal: null }));
      });
      return new ServerProcess(child.pid ?? -1, (s) => child.kill(s), exited, false);
    } finally {
      closeSync(fd);
    }
  }

  /** Takes over a running server by pid; its exit is noticed by polling (it is not our child). */
  static adopt(pid: number, program: string, pollMs = 1000): ServerProcess {
    let timer: NodeJS.Timeout | undefined;
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      const check = () => {
        if (pidIs(pid, program)) {
          timer = setTimeout(check, pollMs);
          timer.unref();
        } else resolve({ code: null, signal: null });
      };
      check();
    });
    return new ServerProcess(
      pid,
      (s) => {
        try {
          process.kill(pid, s);
        } catch {
          // already gone
        }
      },
      exited.finally(() => clearTimeout(timer)),
      true,
    );
  }

  get running(): boolean {
    return !this.#done;
  }

  /** True once stop() was called: an exit after that is not a crash. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /**
   * Sends `signal` (the program's graceful or fast shutdown signal) and waits; after `timeoutMs`
   * escalates to SIGKILL so stop() always returns.
   */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 15_000): Promise<void> {
    this.#stopping = true;
    if (this.#done) return;
    this.#kill(signal);
    const timer = setTimeout(() => this.#kill("SIGKILL"), timeoutMs);
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
  const pid = livePid(pidFile, program);
  if (pid === undefined) return false;
  process.kill(pid, signal);
  const until = Date.now() + timeoutMs;
  while (pidIs(pid, program) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  if (pidIs(pid, program)) process.kill(pid, "SIGKILL");
  return true;
}
