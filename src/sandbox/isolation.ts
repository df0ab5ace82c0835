/**
 * Root-only isolation effects: a dedicated unprivileged user per project (created with useradd),
 * directories owned by it, and a cgroup per instance for memory and CPU limits (v1 and v2).
 * Every command is an argv array.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BerthError } from "../core/errors.ts";

export interface UnixUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** The Unix user a project's services run as: `berth-<project>` (at most 32 characters). */
export function projectUserName(project: string): string {
  return `berth-${project}`.slice(0, 32).replace(/-+$/, "");
}

function lookupUser(name: string): UnixUser | undefined {
  for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
    const f = line.split(":");
    if (f[0] === name) return { name, uid: Number(f[2]), gid: Number(f[3]) };
  }
  return undefined;
}

/** Returns the project's user, creating it (system user, own group, no home, no shell) if needed. */
export function ensureProjectUser(project: string): UnixUser {
  const name = projectUserName(project);
  const found = lookupUser(name);
  if (found) return found;
  try {
    execFileSync("useradd", ["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name], { stdio: "pipe" });
  } catch (e) {
    // Another start may have created it meanwhile.
    const again = lookupUser(name);
    if (again) return again;
    throw new BerthError("BERTH_ENGINE_SANDBOX_FAILED", { service: project, step: "useradd", detail: String((e as { stderr?: Buffer }).stderr ?? e) }, { cause: e });
  }
  const made = lookupUser(name);
  if (!made) throw new BerthError("BERTH_ENGINE_SANDBOX_FAILED", { service: project, step: "useradd", detail: `user ${name} missing after useradd` });
  return made;
}

/**
 * Makes `path` (recursively) owned by the user and closed to everyone else. A directory whose top
 * already is (releases are immutable; every restart passes here) is left alone: a recursive chown
 * of a large node_modules would otherwise delay every restart.
 */
export function ownDirectory(path: string, user: UnixUser): void {
  mkdirSync(path, { recursive: true });
  const st = statSync(path);
  if (st.uid === user.uid && st.gid === user.gid && (st.mode & 0o777) === 0o700) return;
  try {
    execFileSync("chown", ["-R", `${user.uid}:${user.gid}`, path], { stdio: "pipe" });
    chmodSync(path, 0o700);
  } catch (e) {
    throw new BerthError("BERTH_ENGINE_SANDBOX_FAILED", { service: user.name, step: `chown ${path}`, detail: String(e) }, { cause: e });
  }
}

/** Limits a cgroup enforces. Absent fields are not limited. */
export interface CgroupLimits {
  readonly memoryBytes?: number;
  readonly cpuMillicores?: number;
  /** Processes and threads at once (pids.max). */
  readonly pids?: number;
}

export interface Cgroups {
  readonly version: 1 | 2;
  /**
   * Creates (fresh, so counters start at zero) groups for `name` with the limits; returns the
   * cgroup.procs files to enter. Every group gets a cpu group even without a quota: the
   * scheduler then shares CPU between groups, so a busy instance with hundreds of threads weighs
   * like one task against the rest of the host, not like hundreds (issue 17).
   */
  create(name: string, limits: CgroupLimits): string[];
  /** How many times the kernel OOM-killed a process in the group. */
  oomKills(name: string): number;
  /** How many forks failed because the group was at pids.max. */
  pidsLimitHits(name: string): number;
  remove(name: string): void;
}

const CG = "/sys/fs/cgroup";

function write(path: string, value: string): void {
  writeFileSync(path, value);
}

function counter(path: string, key: string): number {
  try {
    const m = new RegExp(`^${key} (\\d+)$`, "m").exec(readFileSync(path, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function rmdirQuiet(path: string): void {
  try {
    if (existsSync(path)) rmdirSync(path);
  } catch {
    // still has processes (being killed) or already gone
  }
}

/** Detects the hierarchy: v2 when the unified mount is at /sys/fs/cgroup, v1 when memory is split out. */
export function detectCgroups(root = "berth"): Cgroups | undefined {
  if (existsSync(join(CG, "cgroup.controllers"))) {
    const base = join(CG, root);
    return {
      version: 2,
      create(name, limits) {
        mkdirSync(base, { recursive: true });
        try {
          write(join(CG, "cgroup.subtree_control"), "+memory +cpu +pids");
          write(join(base, "cgroup.subtree_control"), "+memory +cpu +pids");
        } catch {
          // already enabled, or not delegable: limits below will then fail loudly
        }
        const dir = join(base, name);
        rmdirQuiet(dir);
        mkdirSync(dir, { recursive: true });
        if (limits.memoryBytes) {
          write(join(dir, "memory.max"), String(limits.memoryBytes));
          write(join(dir, "memory.swap.max"), "0");
        }
        if (limits.cpuMillicores) write(join(dir, "cpu.max"), `${limits.cpuMillicores * 100} 100000`);
        if (limits.pids) write(join(dir, "pids.max"), String(limits.pids));
        return [join(dir, "cgroup.procs")];
      },
      oomKills: (name) => counter(join(base, name, "memory.events"), "oom_kill"),
      pidsLimitHits: (name) => counter(join(base, name, "pids.events"), "max"),
      remove: (name) => rmdirQuiet(join(base, name)),
    };
  }
  if (existsSync(join(CG, "memory", "memory.limit_in_bytes"))) {
    const mem = join(CG, "memory", root);
    const cpu = join(CG, "cpu", root);
    const pids = join(CG, "pids", root);
    return {
      version: 1,
      create(name, limits) {
        const files: string[] = [];
        const m = join(mem, name);
        rmdirQuiet(m);
        mkdirSync(m, { recursive: true });
        if (limits.memoryBytes) {
          write(join(m, "memory.limit_in_bytes"), String(limits.memoryBytes));
          try {
            write(join(m, "memory.memsw.limit_in_bytes"), String(limits.memoryBytes));
          } catch {
            // swap accounting off: the plain limit still holds
          }
        }
        files.push(join(m, "cgroup.procs"));
        if (existsSync(join(CG, "cpu"))) {
          const c = join(cpu, name);
          rmdirQuiet(c);
          mkdirSync(c, { recursive: true });
          write(join(c, "cpu.cfs_period_us"), "100000");
          write(join(c, "cpu.cfs_quota_us"), limits.cpuMillicores ? String(limits.cpuMillicores * 100) : "-1");
          files.push(join(c, "cgroup.procs"));
        }
        if (limits.pids && existsSync(join(CG, "pids"))) {
          const p = join(pids, name);
          rmdirQuiet(p);
          mkdirSync(p, { recursive: true });
          write(join(p, "pids.max"), String(limits.pids));
          files.push(join(p, "cgroup.procs"));
        }
        return files;
      },
      oomKills: (name) => counter(join(mem, name, "memory.oom_control"), "oom_kill"),
      pidsLimitHits: (name) => counter(join(pids, name, "pids.events"), "max"),
      remove(name) {
        rmdirQuiet(join(mem, name));
        rmdirQuiet(join(cpu, name));
        rmdirQuiet(join(pids, name));
      },
    };
  }
  return undefined;
}
