/**
 * The command line that starts one instance or task, as a pure function of its inputs (tests
 * assert the exact argv). Unsandboxed: `/bin/sh -c START`. Sandboxed (root): optionally enter
 * cgroups, then bubblewrap as root builds a read-only root with a private /tmp, the release dir
 * and the disks writable, and `setpriv` drops to the project's user inside it.
 *
 * The environment travels through execve's env, never argv: /proc/<pid>/cmdline is readable by
 * every user, /proc/<pid>/environ only by the owner and root — secrets must not be in argv.
 */
import { dirname } from "node:path";

export interface DiskMount {
  readonly hostPath: string;
  readonly mountPath: string;
}

export type Isolation =
  | { readonly kind: "none" }
  | {
      readonly kind: "sandbox";
      readonly uid: number;
      readonly gid: number;
      /** Host paths visible read-only at the same place (e.g. a Node install outside /usr). */
      readonly readOnlyPaths: readonly string[];
      /** `cgroup.procs` files the process enters before anything else runs. */
      readonly cgroupProcs: readonly string[];
      /** Bound read-only over /etc/hosts: the environment's internal names (issue 22). */
      readonly hostsFile?: string;
    };

export interface LaunchInput {
  /** The user's command line, run by /bin/sh -c. */
  readonly command: string;
  /** Runs this argv instead of `/bin/sh -c command` (build steps Berth chose, e.g. `npm ci`). */
  readonly argv?: readonly string[];
  /** The release directory: the working directory, writable. */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly disks: readonly DiskMount[];
  readonly isolation: Isolation;
}

export interface LaunchPlan {
  readonly file: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
}

/**
 * Writes `$$` into each of the first N arguments (cgroup.procs files), then execs the rest. The
 * script is a constant: paths and the command arrive as positional parameters, never spliced.
 */
export const CGROUP_ENTER_SCRIPT = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; exec "$@"';

/** Every ancestor of `path` below the root, outermost first: `/a/b/c` -> `/a`, `/a/b`. */
export function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let d = dirname(path); d !== "/" && d !== "."; d = dirname(d)) out.unshift(d);
  return out;
}

const SYSTEM_ROOTS = ["/usr", "/etc", "/dev", "/proc"];

/** bubblewrap arguments for a root with only the given binds (mount points made world-traversable). */
export function bwrapArgs(cwd: string, disks: readonly DiskMount[], readOnlyPaths: readonly string[], hostsFile?: string): string[] {
  const args = [
    "--ro-bind", "/usr", "/usr",
    "--symlink", "usr/bin", "/bin",
    "--symlink", "usr/sbin", "/sbin",
    "--symlink", "usr/lib", "/lib",
    "--symlink", "usr/lib64", "/lib64",
    "--ro-bind", "/etc", "/etc",
    ...(hostsFile ? ["--ro-bind", hostsFile, "/etc/hosts"] : []),
    "--dev", "/dev",
    "--proc", "/proc",
    "--perms", "1777", "--tmpfs", "/tmp",
  ];
  const made = new Set<string>(["/tmp"]);
  // bwrap creates missing mount points as 0700 root dirs, which the dropped user cannot cross.
  const mkdirs = (target: string): void => {
    for (const a of ancestors(target)) {
      if (made.has(a) || SYSTEM_ROOTS.some((r) => a === r || a.startsWith(`${r}/`))) continue;
      made.add(a);
      args.push("--perms", "0755", "--dir", a);
    }
  };
  for (const p of readOnlyPaths) {
    mkdirs(p);
    args.push("--ro-bind", p, p);
  }
  mkdirs(cwd);
  args.push("--bind", cwd, cwd);
  for (const d of disks) {
    mkdirs(d.mountPath);
    args.push("--bind", d.hostPath, d.mountPath);
  }
  args.push("--remount-ro", "/", "--chdir", cwd, "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try");
  return args;
}

/** Plans the process for one instance or task. Pure. */
export function planLaunch(input: LaunchInput): LaunchPlan {
  const iso = input.isolation;
  const program = input.argv ?? ["/bin/sh", "-c", input.command];
  if (iso.kind === "none") return { file: program[0]!, args: program.slice(1), env: input.env, cwd: input.cwd };
  const inner = [
    "bwrap",
    ...bwrapArgs(input.cwd, input.disks, iso.readOnlyPaths, iso.hostsFile),
    "setpriv", `--reuid=${iso.uid}`, `--regid=${iso.gid}`, "--clear-groups", "--no-new-privs",
    ...program,
  ];
  if (iso.cgroupProcs.length === 0) return { file: inner[0]!, args: inner.slice(1), env: input.env, cwd: input.cwd };
  return {
    file: "/bin/sh",
    args: ["-c", CGROUP_ENTER_SCRIPT, "berth-cgroup-enter", String(iso.cgroupProcs.length), ...iso.cgroupProcs, ...inner],
    env: input.env,
    cwd: input.cwd,
  };
}
