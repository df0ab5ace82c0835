/**
 * Which HAProxy belongs to a router state dir (issue 15: "the router belongs to its data dir").
 * The master's pid and start time are written to `haproxy.pid.json` next to its configuration,
 * so a daemon restarted after SIGKILL adopts the running master instead of starting a second
 * one on the same port; masters of this state dir without a valid pid file (a daemon killed
 * between spawn and write) are found by their command line, which names this dir's config file.
 * Linux /proc only, like the local engine.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";

export interface MasterRecord {
  readonly pid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/<pid>/stat): pid reuse is detected. */
  readonly startTicks: number;
  readonly configPath: string;
}

interface Stat {
  readonly ppid: number;
  readonly startTicks: number;
  readonly zombie: boolean;
}

function stat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(f[1]), startTicks: Number(f[19]), zombie: f[0] === "Z" };
  } catch {
    return undefined;
  }
}

function argv(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/** True when `argv` is an HAProxy run on exactly this configuration file. */
export function isHaproxyFor(args: readonly string[], configPath: string): boolean {
  const bin = args[0]?.split("/").at(-1) ?? "";
  if (!bin.startsWith("haproxy")) return false;
  const f = args.indexOf("-f");
  return f > 0 && args[f + 1] === configPath;
}

/** Start ticks of a live (non-zombie) process, or undefined. */
export function startTicksOf(pid: number): number | undefined {
  const s = stat(pid);
  return s && !s.zombie ? s.startTicks : undefined;
}

export function writeMasterRecord(path: string, record: MasterRecord): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

export function removeMasterRecord(path: string): void {
  rmSync(path, { force: true });
}

/** The recorded master, if that very process is still running HAProxy on this configuration. */
export function liveRecordedMaster(path: string, configPath: string): MasterRecord | undefined {
  if (!existsSync(path)) return undefined;
  let r: Partial<MasterRecord>;
  try {
    r = JSON.parse(readFileSync(path, "utf8")) as Partial<MasterRecord>;
  } catch {
    return undefined;
  }
  if (typeof r.pid !== "number" || typeof r.startTicks !== "number" || r.configPath !== configPath) return undefined;
  if (startTicksOf(r.pid) !== r.startTicks || !isHaproxyFor(argv(r.pid), configPath)) return undefined;
  return { pid: r.pid, startTicks: r.startTicks, configPath };
}

/** Live (non-zombie) HAProxy processes on this configuration file, masters and workers, with their stat. */
function onConfig(configPath: string): Map<number, Stat> {
  const mine = new Map<number, Stat>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (!isHaproxyFor(argv(pid), configPath)) continue;
    const s = stat(pid);
    if (s && !s.zombie) mine.set(pid, s);
  }
  return mine;
}

/**
 * Masters running on this configuration file: HAProxy processes with `-f <configPath>` whose
 * parent is not one of them (workers are forked by their master and share its command line).
 */
export function mastersFor(configPath: string): number[] {
  const mine = onConfig(configPath);
  return [...mine].filter(([, s]) => !mine.has(s.ppid)).map(([pid]) => pid);
}

/** Every HAProxy process (masters and workers) running on this configuration file. */
export function processesFor(configPath: string): number[] {
  return [...onConfig(configPath).keys()];
}

/** Whether `pid` is alive (and not a zombie). */
export function alive(pid: number): boolean {
  return startTicksOf(pid) !== undefined;
}
