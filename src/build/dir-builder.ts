/**
 * Builds a service from a directory source into an artifact directory. The artifact is keyed by
 * the build digest (source revision + build settings), so an unchanged service is never rebuilt;
 * installed dependencies are cached by what decides them (install-cache.ts), so a code-only change
 * does not reinstall them. Runtimes (runtime-setup.ts): Node (the version the project pins, its
 * package manager by packageManager/lockfile), Python (a virtualenv over the system's packages),
 * static (build, then publish dir). An explicit build command wins over the detected install and
 * build, and runs with the same toolchain on PATH (or inside the virtualenv).
 *
 * Issue 17: the daemon (root) only copies the checked source in, installs tools (pinned npm
 * packages, no scripts, into the shared tool cache) and renames the result; every step that runs
 * the project's code, and every copy into or out of the dependency cache, runs in the build's
 * sandbox as the project's user (sandbox.ts). rootDir and publishDir must resolve inside their
 * trees; symlinks leaving the source are refused; files the build could have replaced are read
 * and written without following links (paths.ts). Caches are per project. What the daemon trusts
 * of a build (its runtime: PATH entries, read-only binds) is kept outside the artifact, which the
 * project's user can write.
 */
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { BerthError } from "../core/errors.ts";
import type { Artifact, ArtifactRuntime, LogLine } from "../engine/engine.ts";
import { dependencyManifest, installKey, SandboxedInstallCache } from "./install-cache.ts";
import { assertNoEscapingSymlinks, isInside, readRegularFile, resolveInside, writeNewFile } from "./paths.ts";
import { runStep } from "./run-command.ts";
import { type PreparedRuntime, setupRuntime, type VersionSettings } from "./runtime-setup.ts";
import { type BuildCell, type BuildLimits, BuildSandbox, buildLimitsOf } from "./sandbox.ts";
import type { HostNode, ToolContext } from "./toolchains/context.ts";
import { extraInstallOutputs, installArgv, runScriptArgv } from "./toolchains/package-managers.ts";
import { installPythonDeps, relocateVenvArgv, withPipErrors } from "./toolchains/python.ts";
import { Registry } from "./toolchains/registry.ts";
import { type InstallRunner, ToolCache } from "./toolchains/tool-cache.ts";

/** What a build needs to know of a release's inputs. */
export interface BuildSettings {
  readonly runtime: string;
  readonly buildCommand: string | null;
  readonly publishDir: string | null;
  /** Static sites: headers, redirects, rewrites, SPA flag, written next to the published files. */
  readonly extra: unknown;
  /** Runtime versions the blueprint asks for (nodeVersion, NODE_VERSION, ...). */
  readonly versions?: VersionSettings;
  /** Raised build limits (absent: defaults). */
  readonly buildLimits?: { readonly memoryBytes?: number; readonly cpuMillicores?: number; readonly pids?: number; readonly timeoutMs?: number };
}

export interface BuildJob {
  readonly inputs: BuildSettings;
  /** Digest of the build inputs: the artifact's name. */
  readonly digest: string;
  /** The project the build belongs to: its user, its cache. */
  readonly project: string;
  /** The service, for messages. */
  readonly service: string;
  /** Top of the source tree (a directory source, or a git checkout). */
  readonly sourceRoot: string;
  /** The service's directory inside it (blueprint `rootDir`). */
  readonly rootDir: string;
  /** Env for build commands (the daemon's allowlisted variables); never the service's secrets. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
  readonly onLog: (line: LogLine) => void;
  /** Overrides the step timeout of the limits (tests). */
  readonly timeoutMs?: number;
}

const SKIP = new Set(["node_modules", ".git", ".berth", ".venv", "__pycache__"]);

/** The Node running Berth: builds that ask for its version use it without a download. */
export function currentHostNode(): HostNode {
  return { version: process.versions.node, execPath: process.execPath, ...(process.env.npm_config_nodedir ? { nodedir: process.env.npm_config_nodedir } : {}) };
}

export class DirBuilder {
  readonly #artifactsDir: string;
  readonly #sandbox: BuildSandbox;
  readonly #tools: ToolCache;
  readonly #registry: Registry;
  readonly #host: HostNode;

  constructor(opts: { artifactsDir: string; cacheDir: string; sandbox?: BuildSandbox; host?: HostNode }) {
    this.#artifactsDir = opts.artifactsDir;
    this.#sandbox = opts.sandbox ?? new BuildSandbox({ cacheRoot: opts.cacheDir, readOnlyPaths: [], cgroups: undefined, sandboxed: false });
    for (const d of [opts.artifactsDir, opts.cacheDir]) mkdirSync(d, { recursive: true });
    this.#tools = new ToolCache(join(opts.cacheDir, "toolchains"));
    this.#registry = new Registry(join(opts.cacheDir, "registry"));
    this.#host = opts.host ?? currentHostNode();
  }

  async build(job: BuildJob): Promise<Artifact> {
    const final = join(this.#artifactsDir, job.digest);
    const runtimeFile = `${final}.runtime.json`;
    if (existsSync(join(final, ".berth-built"))) {
      const runtime = this.#readRuntime(runtimeFile);
      if (runtime !== null) {
        log(job, `build cache hit: ${job.digest.slice(0, 12)}`);
        return { kind: "dir", path: final, digest: job.digest, ...(runtime ? { runtime } : {}) };
      }
    }
    const field = `services.${job.service}.rootDir`;
    const sourceDir = resolveInside(job.sourceRoot, job.rootDir, field);
    if (!existsSync(sourceDir)) throw new BerthError("BERTH_BAD_REQUEST", { detail: `${field}: '${job.rootDir}' does not exist in the source` });
    // Checked on the whole tree: a link elsewhere in the repository may be what rootDir copies.
    assertNoEscapingSymlinks(job.sourceRoot, SKIP);
    const work = `${final}.tmp-${randomBytes(4).toString("hex")}`;
    const limits = buildLimitsOf({ ...job.inputs.buildLimits, ...(job.timeoutMs !== undefined ? { timeoutMs: job.timeoutMs } : {}) });
    let cell: BuildCell | undefined;
    try {
      // The only copy root makes: of a tree just checked, into a fresh directory (links verbatim).
      cpSync(sourceDir, work, { recursive: true, verbatimSymlinks: true, filter: (src) => !SKIP.has(src.split("/").pop() ?? "") });
      // The install key is read before any of the project's code has run in the directory.
      const manifest = dependencyManifest(work);
      cell = await this.#sandbox.open({ project: job.project, service: job.service, workDir: work, hostEnv: job.env, limits });
      const inBuild = this.#step(work, job, cell, limits, { env: cell.env, readOnlyPaths: [] });
      const rt = await setupRuntime(work, job.inputs.runtime, job.inputs.versions ?? {}, this.#context(job, cell), cell.cacheDir, inBuild);
      // An explicit build command wins: it installs what it needs itself, with the toolchain on PATH.
      if (!job.inputs.buildCommand) await this.#install(work, job, cell, limits, rt, manifest);
      await this.#runBuild(work, job, cell, limits, rt);
      if (job.inputs.publishDir) {
        const published = resolveInside(work, job.inputs.publishDir, `services.${job.service}.publishDir`);
        if (!existsSync(published)) throw new BerthError("BERTH_BUILD_OUTPUT_MISSING", { path: job.inputs.publishDir });
      }
      if (job.inputs.runtime === "static" || job.inputs.publishDir) {
        writeNewFile(work, ".berth-static.json", JSON.stringify((job.inputs.extra as { site?: unknown } | null)?.site ?? {}));
      }
      // The virtualenv names its directory in scripts and .pth files: point them at the final place
      // before the rename, as the project's user (the files are the build's).
      if (rt.python) await inBuild(relocateVenvArgv(work, final), "relocate virtualenv");
      const runtime = moved(rt.runtime, work, final);
      writeNewFile(work, ".berth-built", new Date().toISOString());
      rmSync(final, { recursive: true, force: true });
      writeFileSync(runtimeFile, JSON.stringify(runtime), { mode: 0o600 });
      renameSync(work, final);
      return { kind: "dir", path: final, digest: job.digest, runtime };
    } catch (e) {
      rmSync(work, { recursive: true, force: true });
      throw e;
    } finally {
      cell?.close();
    }
  }

  /**
   * The runtime recorded for a built artifact (root-owned, beside it), or null when it is missing
   * or names read-only paths outside the tool cache and the Node running Berth (rebuild then).
   */
  #readRuntime(file: string): ArtifactRuntime | undefined | null {
    if (!existsSync(file)) return null;
    try {
      const runtime = JSON.parse(readFileSync(file, "utf8")) as ArtifactRuntime;
      const allowed = [this.#tools.root, dirname(dirname(this.#host.execPath))];
      return runtime.readOnlyPaths.every((p) => allowed.some((a) => isInside(a, p))) ? runtime : null;
    } catch {
      return null;
    }
  }

  /** Tool installs: pinned npm packages with no scripts, run by the daemon into the shared tool cache. */
  #context(job: BuildJob, cell: BuildCell): ToolContext {
    const run: InstallRunner = (argv, label) =>
      runStep(argv, { cwd: this.#tools.root, env: { ...job.env, npm_config_cache: join(this.#tools.root, "..", "npm-tools") }, timeoutMs: 10 * 60_000, signal: job.signal, onLog: job.onLog, label });
    // The daemon's own npm cache for registry look-ups and tool installs: root writing into the
    // project's cache would leave files its user cannot touch. Build steps keep the project's
    // (the sandbox's step env puts HOME and the caches back).
    const own = join(this.#tools.root, "..", "npm-tools");
    const env = { ...cell.env, npm_config_cache: own, HOME: own };
    return { cache: this.#tools, registry: this.#registry, env, signal: job.signal, log: (line) => log(job, line), run, host: this.#host };
  }

  #step(dir: string, job: BuildJob, cell: BuildCell, limits: BuildLimits, rt: Pick<PreparedRuntime, "env" | "readOnlyPaths">): InstallRunner {
    return (argv, label) =>
      runStep(argv, {
        cwd: dir,
        env: rt.env,
        timeoutMs: limits.timeoutMs,
        signal: job.signal,
        onLog: job.onLog,
        label,
        service: `${job.project}/${job.service}`,
        readOnlyPaths: rt.readOnlyPaths,
        launch: (a, cwd, env, readOnlyPaths) => cell.plan(a, cwd, { env, readOnlyPaths }),
        limitReached: () => cell.limitReached(),
        killAll: () => cell.killAll(),
      }).catch((e: unknown) => {
        throw withPipErrors(e);
      });
  }

  async #install(dir: string, job: BuildJob, cell: BuildCell, limits: BuildLimits, rt: PreparedRuntime, manifest: string): Promise<void> {
    const step = this.#step(dir, job, cell, limits, rt);
    const pkgText = readRegularFile(dir, "package.json");
    if (rt.node && pkgText !== undefined) {
      const pkg = parseJson(pkgText, "package.json") as { dependencies?: object; devDependencies?: object; workspaces?: unknown };
      // [e2e fix] A workspaces root declares no dependencies itself; its workspaces do.
      if (pkg.dependencies || pkg.devDependencies || pkg.workspaces) {
        const pm = rt.node.packageManager;
        const argv = installArgv(pm);
        const lock = pm.lockfile ? readRegularFile(dir, pm.lockfile) : undefined;
        const key =
          lock !== undefined
            ? installKey([lock, manifest, argv.join(" "), rt.runtime.resolved.packageManager ?? `npm@${rt.runtime.resolved.npm}`, `node${rt.node.version.split(".")[0]}`, process.arch])
            : null;
        // Per project: the cache is the project's user's, copied in and out inside its sandbox.
        const installs = new SandboxedInstallCache(join(cell.cacheDir, "deps", "node"), step);
        if (key && (await installs.restore(key, dir))) log(job, `dependencies from cache (${pm.lockfile})`);
        else {
          await step(argv, "install");
          if (key) await installs.save(key, dir, extraInstallOutputs(pm));
        }
      }
    }
    if (rt.python) {
      await installPythonDeps(rt.python.plan, { venv: rt.python.venv, env: rt.env, cwd: dir, signal: job.signal, log: (line) => log(job, line), step });
    }
  }

  async #runBuild(dir: string, job: BuildJob, cell: BuildCell, limits: BuildLimits, rt: PreparedRuntime): Promise<void> {
    const step = this.#step(dir, job, cell, limits, rt);
    if (job.inputs.buildCommand) return step(["/bin/sh", "-c", job.inputs.buildCommand], "build");
    // Read without following links: the install step ran the project's code (postinstall scripts).
    const pkgText = readRegularFile(dir, "package.json");
    if (rt.node && pkgText !== undefined) {
      const pkg = parseJson(pkgText, "package.json") as { scripts?: Record<string, string> };
      if (pkg.scripts?.build) return step(runScriptArgv(rt.node.packageManager, "build"), "build");
    }
  }
}

function log(job: BuildJob, line: string): void {
  job.onLog({ at: new Date().toISOString(), instance: "build", stream: line.startsWith("warning:") ? "stderr" : "stdout", line });
}

/** The runtime with paths inside the temporary build directory pointed at its final place. */
function moved(runtime: ArtifactRuntime, from: string, to: string): ArtifactRuntime {
  const fix = (p: string) => (p === from || p.startsWith(`${from}/`) ? to + p.slice(from.length) : p);
  return {
    resolved: runtime.resolved,
    path: runtime.path.map(fix),
    env: Object.fromEntries(Object.entries(runtime.env).map(([k, v]) => [k, fix(v)])),
    readOnlyPaths: runtime.readOnlyPaths,
  };
}

/** JSON.parse without echoing the text into the error (it may not be what it claims to be). */
function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new BerthError("BERTH_BUILD_FAILED", { step: "detect", detail: `${file} is not valid JSON` });
  }
}
