/**
 * What a daemon killed mid-build leaves (issue 15): half-written work directories
 * (`<artifact>.tmp-xxxxxxxx`, `<checkout>.tmp-xxxxxxxx`, `<dependency cache>.tmp-xxxxxxxx`) and
 * the build processes still running in them (they run in their own process groups, so they
 * outlive the daemon). Finished outputs only ever appear by an atomic rename, so anything
 * still named `.tmp-` is unfinished by construction: at start, the processes working inside
 * one are killed and the directory removed. A process is recognised by its working directory,
 * which is inside this data dir — never by its name.
 */
import { readdirSync, readlinkSync, rmSync } from "node:fs";
import { join } from "node:path";

const TMP = /\.tmp-[0-9a-f]{8}$/;

/** Whether `name` is an unfinished work directory's name. */
export function isUnfinished(name: string): boolean {
  return TMP.test(name);
}

/** PIDs whose working directory is one of `dirs` or below. */
function processesIn(dirs: readonly string[]): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let cwd = "";
    try {
      cwd = readlinkSync(`/proc/${name}/cwd`);
    } catch {
      continue;
    }
    if (dirs.some((d) => cwd === d || cwd.startsWith(`${d}/`))) out.push(Number(name));
  }
  return out;
}

/**
 * Kills the processes working in unfinished directories under `parents` (one level, or two for
 * `parents` given as `[dir, depth]`) and removes those directories. Returns what it did.
 */
export async function sweepUnfinished(parents: readonly string[]): Promise<{ readonly dirs: string[]; readonly pids: number[] }> {
  const dirs: string[] = [];
  for (const parent of parents) {
    let names: string[] = [];
    try {
      names = readdirSync(parent);
    } catch {
      continue;
    }
    for (const n of names) if (isUnfinished(n)) dirs.push(join(parent, n));
  }
  if (dirs.length === 0) return { dirs, pids: [] };
  const pids = new Set<number>();
  // Builds fork (npm -> node -> sh ...): repeat until nothing is left working in them.
  for (let round = 0; round < 20; round++) {
    const found = processesIn(dirs);
    if (found.length === 0) break;
    for (const pid of found) {
      pids.add(pid);
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  return { dirs, pids: [...pids] };
}
