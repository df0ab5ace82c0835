/**
 * One instance's process group: spawned detached (its own session and group, so it outlives the
 * daemon), or adopted after a daemon restart; watched for exit; stopped gracefully with SIGTERM to
 * the whole group and SIGKILL after the shutdown delay, until /proc shows no member left.
 *
 * Output goes through two FIFOs per instance that the child holds open read-write: with no
 * daemon reading, its writes still succeed (into the pipe buffer, then block) instead of failing
 * with EPIPE, and the next daemon reopens the FIFOs and carries on logging.
 */
import { execFileSync, spawn } from "node:child_process";
import { closeSync, constants, existsSync, openSync } from "node:fs";
import { Socket } from "node:net";
import { BerthError } from "../../core/errors.ts";
import type { LaunchPlan } from "../../sandbox/launch.ts";
import { groupMembers, isSameProcess, readStat, signalGroup } from "./proc.ts";

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: string | null;
}

export interface RunningGroup {
  /** Leader pid = process group id. */
  readonly pid: number;
  readonly startTicks: number;
  /** Resolves when the leader exits. Adopted leaders are not our children: code and signal are null. */
  readonly exited: Promise<ExitInfo>;
  alive(): boolean;
  /** Stops watching (daemon shutdown that leaves the process running). */
  detach(): void;
}

export interface OutputPipes {
  readonly out: string;
  readonly err: string;
}

/** Makes the instance's FIFOs if they do not exist yet. */
export function ensurePipes(pipes: OutputPipes): void {
  for (const p of [pipes.out, pipes.err]) if (!existsSync(p)) execFileSync("mkfifo", ["-m", "0600", p]);
}

/** Opens the read end of a FIFO without blocking, as a socket read through the event loop. */
export function openPipeReader(path: string): Socket {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  return new Socket({ fd, readable: true, writable: false });
}

/** Spawns the plan detached, its stdout/stderr on the FIFOs. */
export function spawnGroup(plan: LaunchPlan, pipes: OutputPipes, service: string): RunningGroup {
  ensurePipes(pipes);
  const out = openSync(pipes.out, constants.O_RDWR);
  const err = openSync(pipes.err, constants.O_RDWR);
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(plan.file, [...plan.args], { cwd: plan.cwd, env: { ...plan.env }, detached: true, stdio: ["ignore", out, err] });
  } finally {
    closeSync(out);
    closeSync(err);
  }
  const pid = child.pid;
  if (pid === undefined) throw new BerthError("BERTH_ENGINE_START_FAILED", { service, detail: `cannot run ${plan.file}` });
  child.unref();
  const startTicks = readStat(pid)?.startTicks ?? 0;
  let done = false;
  let detached = false;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once("exit", (code, signal) => {
      done = true;
      if (!detached) resolve({ code, signal });
    });
    child.once("error", () => {
      done = true;
      if (!detached) resolve({ code: 127, signal: null });
    });
  });
  return {
    pid,
    startTicks,
    exited,
    alive: () => !done,
    detach: () => {
      detached = true;
      child.removeAllListeners();
    },
  };
}

/** Watches a process this daemon did not start, by polling /proc (pid + start time). */
export function adoptGroup(pid: number, startTicks: number, pollMs: number): RunningGroup {
  let done = !isSameProcess(pid, startTicks);
  let timer: NodeJS.Timeout | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    if (done) return resolve({ code: null, signal: null });
    timer = setInterval(() => {
      if (isSameProcess(pid, startTicks)) return;
      done = true;
      clearInterval(timer);
      resolve({ code: null, signal: null });
    }, pollMs);
    timer.unref();
  });
  return {
    pid,
    startTicks,
    exited,
    alive: () => !done,
    detach: () => clearInterval(timer),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * SIGTERM to the group, SIGKILL to whatever is left after `graceMs`, then waits (bounded) until
 * no member of the group remains in /proc. Resolves with whether SIGKILL was needed.
 */
export async function stopGroup(pgid: number, graceMs: number): Promise<{ killed: boolean }> {
  if (!signalGroup(pgid, "SIGTERM")) return { killed: false };
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (groupMembers(pgid).length === 0) return { killed: false };
    await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
  }
  signalGroup(pgid, "SIGKILL");
  for (let i = 0; i < 100 && groupMembers(pgid).length > 0; i++) await sleep(20);
  return { killed: true };
}

/** Kills whatever is left of a group whose leader is gone (no orphans). */
export async function reapGroup(pgid: number): Promise<void> {
  if (groupMembers(pgid).length === 0) return;
  signalGroup(pgid, "SIGKILL");
  for (let i = 0; i < 100 && groupMembers(pgid).length > 0; i++) await sleep(20);
}
