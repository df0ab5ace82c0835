/**
 * Reading processes from /proc: identity (start time guards against pid reuse), process-group
 * membership (to prove a stop left nothing behind), memory and CPU for stats.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface ProcStat {
  readonly pid: number;
  /** R, S, D, Z (zombie), T, ... */
  readonly state: string;
  readonly ppid: number;
  readonly pgrp: number;
  /** Clock ticks after boot; with the pid it identifies a process across pid reuse. */
  readonly startTicks: number;
  readonly cpuTicks: number;
  readonly rssPages: number;
}

/** Parses one /proc/<pid>/stat line (the command name may hold spaces and parentheses). */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < 0) return undefined;
  const f = text.slice(close + 2).trim().split(" ");
  const n = (i: number): number => Number(f[i]);
  return { pid: Number(text.slice(0, open).trim()), state: f[0] ?? "?", ppid: n(1), pgrp: n(2), startTicks: n(19), cpuTicks: n(11) + n(12), rssPages: n(21) };
}

export function readStat(pid: number): ProcStat | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

/** True when `pid` is still the very process that started at `startTicks`, and not a zombie. */
export function isSameProcess(pid: number, startTicks: number): boolean {
  const s = readStat(pid);
  return s !== undefined && s.startTicks === startTicks && s.state !== "Z" && s.state !== "X";
}

function allPids(): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

/** Live (non-zombie) members of a process group. */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const pid of allPids()) {
    const s = readStat(pid);
    if (s && s.pgrp === pgid && s.state !== "Z" && s.state !== "X") out.push(pid);
  }
  return out;
}

/** Reads a process's environment (root, or the same user); undefined when unreadable. */
export function readEnviron(pid: number): Record<string, string> | undefined {
  try {
    const out: Record<string, string> = {};
    for (const kv of readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")) {
      const eq = kv.indexOf("=");
      if (eq > 0) out[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    return out;
  } catch {
    return undefined;
  }
}

/** Live processes whose environment has `key` = `value`, with their process group. */
export function processesWithEnv(key: string, value: string): { pid: number; pgrp: number; env: Record<string, string> }[] {
  const out: { pid: number; pgrp: number; env: Record<string, string> }[] = [];
  for (const pid of allPids()) {
    const s = readStat(pid);
    if (!s || s.state === "Z" || s.state === "X") continue;
    const env = readEnviron(pid);
    if (env && env[key] === value) out.push({ pid, pgrp: s.pgrp, env });
  }
  return out;
}

/** Process-group leaders whose environment has `key` = `value`. */
export function leadersWithEnv(key: string, value: string): { pid: number; env: Record<string, string> }[] {
  return processesWithEnv(key, value).filter((p) => p.pgrp === p.pid);
}

/** Sums RSS and CPU ticks over a process group. */
export function groupUsage(pgid: number): { rssBytes: number; cpuTicks: number } {
  let rssPages = 0;
  let cpuTicks = 0;
  for (const pid of groupMembers(pgid)) {
    const s = readStat(pid);
    if (s) {
      rssPages += s.rssPages;
      cpuTicks += s.cpuTicks;
    }
  }
  return { rssBytes: rssPages * 4096, cpuTicks };
}

/** Sends a signal to a whole process group; false when the group is already gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}
