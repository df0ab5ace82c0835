/**
 * Builds in the sandbox (issue 17). Each build step runs like a service instance: as the
 * project's Unix user, inside bubblewrap (read-only /usr and /etc, private /tmp, own pid/ipc/uts
 * namespaces, no capabilities, NoNewPrivs), in a cgroup with memory, CPU and process limits.
 * The network is shared, so registries work (the loopback policy still applies: the user is
 * the project's). Writable: the build directory and the project's own build cache, nothing
 * else; the data directory, other projects and the key file are simply not there.
 *
 * The daemon's trust and proxy variables pass through (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE,
 * HTTP(S)_PROXY, npm network settings, PIP_*: src/build/build-env.ts); CA files outside /etc and /usr
 * are bound read-only so those variables keep working. HOME and package caches point into the
 * project's build cache, never root's home.
 */
import { chownSync, existsSync, mkdirSync, readFileSync, realpathSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { randomBytes } from "node:crypto";
import { BerthError } from "../core/errors.ts";
import { DEFAULT_BUILD_LIMITS } from "../core/limits.ts";
import { type Cgroups, ensureProjectUser, ownDirectory, type UnixUser } from "../sandbox/isolation.ts";
import { type LaunchPlan, planLaunch } from "../sandbox/launch.ts";
import type { LoopbackPolicy } from "../sandbox/loopback-policy.ts";

/** Variables naming a file or directory a build tool reads (CA bundles, npm's global config). */
const PATH_VARS = ["NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO", "PIP_CERT", "npm_config_cafile", "NPM_CONFIG_CAFILE", "npm_config_globalconfig", "NPM_CONFIG_GLOBALCONFIG"];

/** Already visible read-only in every sandbox. */
const SYSTEM_PREFIXES = ["/usr/", "/etc/"];

export interface BuildLimits {
  readonly memoryBytes: number;
  readonly cpuMillicores: number;
  readonly pids: number;
  readonly timeoutMs: number;
}

/** Defaults raised by a service's `build.limits` / `build.timeout`, never lowered below sense. */
export function buildLimitsOf(raised: { memoryBytes?: number; cpuMillicores?: number; pids?: number; timeoutMs?: number } | undefined): BuildLimits {
  return {
    memoryBytes: raised?.memoryBytes ?? DEFAULT_BUILD_LIMITS.memoryBytes,
    cpuMillicores: raised?.cpuMillicores ?? DEFAULT_BUILD_LIMITS.cpuMillicores,
    pids: raised?.pids ?? DEFAULT_BUILD_LIMITS.pids,
    timeoutMs: raised?.timeoutMs ?? DEFAULT_BUILD_LIMITS.timeoutMs,
  };
}

/**
 * Host paths a build must see read-only: CA files and npmrc named by the env, outside /etc and
 * /usr. Symlinks are resolved first (the bootstrapped Node's `etc/npmrc` links to the system
 * npmrc): bubblewrap cannot bind onto a symlink, and a link into /usr or /etc needs no bind.
 */
export function trustPaths(env: Readonly<Record<string, string | undefined>>, resolve: (path: string) => string = realpathSync): string[] {
  const out = new Set<string>();
  for (const name of PATH_VARS) {
    const v = env[name];
    if (!v || !isAbsolute(v) || !existsSync(v)) continue;
    const real = resolve(v);
    if (SYSTEM_PREFIXES.some((p) => real.startsWith(p))) continue;
    out.add(real);
  }
  return [...out];
}

/** What one step adds to its build's sandbox. */
export interface StepExtras {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly readOnlyPaths?: readonly string[];
}

/** The cell's env with a step's variables over it (undefined values dropped). */
function stepEnv(base: Readonly<Record<string, string>>, extra: StepExtras | undefined): Record<string, string> {
  const out: Record<string, string> = { ...base };
  for (const [k, v] of Object.entries(extra?.env ?? {})) if (v !== undefined) out[k] = v;
  // HOME and the caches stay the project's own whatever the step's env says.
  for (const k of ["HOME", "npm_config_cache", "XDG_CACHE_HOME", "PIP_CACHE_DIR", "TMPDIR"]) if (base[k] !== undefined) out[k] = base[k];
  return out;
}

/** One build's sandbox: a user, its cache, a cgroup. `close()` removes the cgroup. */
export interface BuildCell {
  readonly user: UnixUser | undefined;
  /** The project's build cache (writable inside the sandbox). */
  readonly cacheDir: string;
  /** The env every step gets: the daemon's allowlisted variables, HOME and caches in cacheDir. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * The process for one step (argv run in `cwd`, which must be the build directory). `extra` adds
   * the step's own variables (its toolchain's PATH, VIRTUAL_ENV) over `env`, and host paths it
   * must read (tool cache entries).
   */
  plan(argv: readonly string[], cwd: string, extra?: StepExtras): LaunchPlan;
  /** Which limit stopped the last step, if any (read after the step ended or while it runs). */
  limitReached(): { readonly limit: "pids" | "memory"; readonly max: number } | undefined;
  /** Kills every process left in the build's cgroup. */
  killAll(): void;
  close(): void;
}

export interface BuildSandboxOptions {
  /** Per-project build caches live under `<cacheRoot>/projects/<project>`. */
  readonly cacheRoot: string;
  /** Host paths visible read-only (the Node install running Berth when outside /usr). */
  readonly readOnlyPaths: readonly string[];
  /** Absent when not running as root: steps then run unsandboxed, as the daemon's user. */
  readonly cgroups: Cgroups | undefined;
  readonly sandboxed: boolean;
  /** The loopback policy: the project's user is covered before a step runs. */
  readonly loopback?: LoopbackPolicy;
}

export class BuildSandbox {
  readonly #o: BuildSandboxOptions;
  constructor(options: BuildSandboxOptions) {
    this.#o = options;
  }

  get sandboxed(): boolean {
    return this.#o.sandboxed;
  }

  /** Prepares user, cache and cgroup for one build of `service` in `workDir` (already holding the source). */
  async open(input: { project: string; service: string; workDir: string; hostEnv: Readonly<Record<string, string | undefined>>; limits: BuildLimits }): Promise<BuildCell> {
    const cacheDir = join(this.#o.cacheRoot, "projects", input.project);
    const dirs = { home: join(cacheDir, "home"), npm: join(cacheDir, "npm"), xdg: join(cacheDir, "xdg"), pip: join(cacheDir, "pip"), deps: join(cacheDir, "deps") };
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(input.hostEnv)) if (v !== undefined) env[k] = v;
    // Whatever the daemon's env said: home and caches are the project's own (never root's, never shared).
    Object.assign(env, { HOME: dirs.home, npm_config_cache: dirs.npm, XDG_CACHE_HOME: dirs.xdg, PIP_CACHE_DIR: dirs.pip, TMPDIR: "/tmp", CI: env.CI ?? "true" });
    delete env.NPM_CONFIG_CACHE;
    if (!this.#o.sandboxed) {
      for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true, mode: 0o700 });
      return {
        user: undefined,
        cacheDir,
        env,
        plan: (argv, cwd, extra) => planLaunch({ command: "", argv, cwd, env: stepEnv(env, extra), disks: [], isolation: { kind: "none" } }),
        limitReached: () => undefined,
        killAll: () => {},
        close: () => {},
      };
    }
    const label = `${input.project}/${input.service}`;
    const fail = (step: string, e: unknown): never => {
      throw new BerthError("BERTH_BUILD_SANDBOX_FAILED", { service: label, step, detail: e instanceof Error ? e.message : String(e) }, { cause: e });
    };
    let user: UnixUser;
    try {
      user = ensureProjectUser(input.project);
      // Recursive when the owner changed: a project whose user was removed with its last service
      // (issue 15) gets a new uid when it deploys again, and its caches must follow.
      ownDirectory(cacheDir, user);
      for (const d of Object.values(dirs)) {
        mkdirSync(d, { recursive: true, mode: 0o700 });
        chownSync(d, user.uid, user.gid);
      }
      ownDirectory(input.workDir, user);
    } catch (e) {
      if (e instanceof BerthError) throw e;
      return fail("user and directories", e);
    }
    // Builds reach registries, not the daemon or other projects: same loopback rules as services.
    await this.#o.loopback?.ensureProject(input.project, user.uid).catch(() => {});
    const cgroups = this.#o.cgroups;
    if (!cgroups) return fail("cgroups", "no cgroup hierarchy found under /sys/fs/cgroup");
    const name = `build-${randomBytes(6).toString("hex")}`;
    let procs: string[];
    try {
      procs = cgroups.create(name, input.limits);
    } catch (e) {
      return fail("cgroups", e);
    }
    // A path inside one already bound (the Node home) is visible through that bind.
    const bound = this.#o.readOnlyPaths;
    const extra = trustPaths(env).filter((p) => !bound.some((b) => p === b || p.startsWith(`${b}/`)));
    const readOnlyPaths = [...new Set([...bound, ...extra])];
    return {
      user,
      cacheDir,
      env,
      plan: (argv, cwd, extra) =>
        planLaunch({
          command: "",
          argv,
          cwd,
          env: stepEnv(env, extra),
          disks: [{ hostPath: cacheDir, mountPath: cacheDir }],
          isolation: { kind: "sandbox", uid: user.uid, gid: user.gid, readOnlyPaths: [...new Set([...readOnlyPaths, ...(extra?.readOnlyPaths ?? [])])], cgroupProcs: procs },
        }),
      limitReached: () => {
        if (cgroups.oomKills(name) > 0) return { limit: "memory", max: input.limits.memoryBytes };
        if (cgroups.pidsLimitHits(name) > 0) return { limit: "pids", max: input.limits.pids };
        return undefined;
      },
      killAll: () => {
        for (const file of procs) {
          let pids: number[] = [];
          try {
            pids = readFileSync(file, "utf8").split("\n").filter(Boolean).map(Number);
          } catch {
            continue;
          }
          for (const pid of pids) {
            try {
              process.kill(pid, "SIGKILL");
            } catch {
              // already gone
            }
          }
        }
      },
      // Killed processes take a moment to leave the group; rmdir fails until then, so retry briefly.
      close: () => removeWhenEmpty(cgroups, name, procs),
    };
  }
}

function removeWhenEmpty(cgroups: Cgroups, name: string, procs: readonly string[], attempt = 0): void {
  const empty = procs.every((f) => {
    try {
      return readFileSync(f, "utf8").trim() === "";
    } catch {
      return true;
    }
  });
  if (empty || attempt >= 50) {
    cgroups.remove(name);
    return;
  }
  setTimeout(() => removeWhenEmpty(cgroups, name, procs, attempt + 1), 100).unref();
}
