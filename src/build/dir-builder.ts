/**
 * Builds a service from a directory source into an artifact directory. The artifact is keyed by
 * the build digest (source revision + build settings), so an unchanged service is never rebuilt;
 * installed dependencies are cached by the lockfile's hash, so a code-only change does not
 * reinstall them. Runtimes (runtime-setup.ts): Node (the version the project pins, its package
 * manager by packageManager/lockfile), Python (a virtualenv over the system's packages), static
 * (build, then publish dir). An explicit build command wins over the detected install and build,
 * and runs with the same toolchain on PATH (or inside the virtualenv).
 */
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BerthError } from "../core/errors.ts";
import type { Artifact, ArtifactRuntime, LogLine } from "../engine/engine.ts";
import { dependencyManifest, InstallCache, installKey } from "./install-cache.ts";
import { runStep } from "./run-command.ts";
import { type PreparedRuntime, setupRuntime, type VersionSettings } from "./runtime-setup.ts";
import type { HostNode, ToolContext } from "./toolchains/context.ts";
import { extraInstallOutputs, installArgv, runScriptArgv } from "./toolchains/package-managers.ts";
import { installPythonDeps, relocateVenv, withPipErrors } from "./toolchains/python.ts";
import { Registry } from "./toolchains/registry.ts";
import { ToolCache } from "./toolchains/tool-cache.ts";

/** What a build needs to know of a release's inputs. */
export interface BuildSettings {
  readonly runtime: string;
  readonly buildCommand: string | null;
  readonly publishDir: string | null;
  /** Static sites: headers, redirects, rewrites, SPA flag, written next to the published files. */
  readonly extra: unknown;
  /** Runtime versions the blueprint asks for (nodeVersion, NODE_VERSION, ...). */
  readonly versions?: VersionSettings;
}

export interface BuildJob {
  readonly inputs: BuildSettings;
  /** Digest of the build inputs: the artifact's name. */
  readonly digest: string;
  /** Directory the service's files are read from (source + rootDir). */
  readonly sourceDir: string;
  /** Env for build commands (PATH etc.); never the service's secrets. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
  readonly onLog: (line: LogLine) => void;
  readonly timeoutMs: number;
}

const SKIP = new Set(["node_modules", ".git", ".berth", ".venv", "__pycache__"]);
/** The runtime recorded inside an artifact, read back on a build cache hit. */
const RUNTIME_FILE = ".berth-runtime.json";

/** The Node running Berth: builds that ask for its version use it without a download. */
export function currentHostNode(): HostNode {
  return { version: process.versions.node, execPath: process.execPath, ...(process.env.npm_config_nodedir ? { nodedir: process.env.npm_config_nodedir } : {}) };
}

export class DirBuilder {
  readonly #artifactsDir: string;
  readonly #cacheDir: string;
  readonly #tools: ToolCache;
  readonly #registry: Registry;
  readonly #installs: InstallCache;
  readonly #host: HostNode;

  constructor(opts: { artifactsDir: string; cacheDir: string; host?: HostNode }) {
    this.#artifactsDir = opts.artifactsDir;
    this.#cacheDir = opts.cacheDir;
    mkdirSync(this.#artifactsDir, { recursive: true });
    mkdirSync(this.#cacheDir, { recursive: true });
    this.#tools = new ToolCache(join(opts.cacheDir, "toolchains"));
    this.#registry = new Registry(join(opts.cacheDir, "registry"));
    this.#installs = new InstallCache(join(opts.cacheDir, "node"));
    this.#host = opts.host ?? currentHostNode();
  }

  async build(job: BuildJob): Promise<Artifact> {
    const final = join(this.#artifactsDir, job.digest);
    if (existsSync(join(final, ".berth-built"))) {
      log(job, `build cache hit: ${job.digest.slice(0, 12)}`);
      const runtime = existsSync(join(final, RUNTIME_FILE)) ? (JSON.parse(readFileSync(join(final, RUNTIME_FILE), "utf8")) as ArtifactRuntime) : undefined;
      return { kind: "dir", path: final, digest: job.digest, ...(runtime ? { runtime } : {}) };
    }
    const work = `${final}.tmp-${randomBytes(4).toString("hex")}`;
    try {
      cpSync(job.sourceDir, work, { recursive: true, filter: (src) => !SKIP.has(src.split("/").pop() ?? "") });
      const rt = await setupRuntime(work, job.inputs.runtime, job.inputs.versions ?? {}, this.#context(work, job), this.#cacheDir);
      // An explicit build command wins: it installs what it needs itself, with the toolchain on PATH.
      if (!job.inputs.buildCommand) await this.#install(work, job, rt);
      await this.#runBuild(work, job, rt);
      if (job.inputs.publishDir && !existsSync(join(work, job.inputs.publishDir))) {
        throw new BerthError("BERTH_BUILD_OUTPUT_MISSING", { path: job.inputs.publishDir });
      }
      if (job.inputs.runtime === "static" || job.inputs.publishDir) {
        writeFileSync(join(work, ".berth-static.json"), JSON.stringify((job.inputs.extra as { site?: unknown } | null)?.site ?? {}));
      }
      const runtime = moved(rt.runtime, work, final);
      writeFileSync(join(work, RUNTIME_FILE), JSON.stringify(runtime));
      writeFileSync(join(work, ".berth-built"), new Date().toISOString());
      rmSync(final, { recursive: true, force: true });
      renameSync(work, final);
      if (rt.python) relocateVenv(join(final, ".venv"), work, final);
      return { kind: "dir", path: final, digest: job.digest, runtime };
    } catch (e) {
      rmSync(work, { recursive: true, force: true });
      throw e;
    }
  }

  #context(dir: string, job: BuildJob): ToolContext {
    return {
      cache: this.#tools,
      registry: this.#registry,
      env: job.env,
      signal: job.signal,
      log: (line) => log(job, line),
      run: (argv, label) => this.#step(dir, job, { env: job.env, readOnlyPaths: [] }, argv, label),
      host: this.#host,
    };
  }

  #step(dir: string, job: BuildJob, rt: Pick<PreparedRuntime, "env" | "readOnlyPaths">, argv: readonly string[], label: string): Promise<void> {
    return runStep(argv, { cwd: dir, env: rt.env, timeoutMs: job.timeoutMs, signal: job.signal, onLog: job.onLog, label, readOnlyPaths: rt.readOnlyPaths }).catch((e: unknown) => {
      throw withPipErrors(e);
    });
  }

  async #install(dir: string, job: BuildJob, rt: PreparedRuntime): Promise<void> {
    const step = (argv: readonly string[], label: string) => this.#step(dir, job, rt, argv, label);
    if (rt.node && existsSync(join(dir, "package.json"))) {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { dependencies?: object; devDependencies?: object; workspaces?: unknown };
      // [e2e fix] A workspaces root declares no dependencies itself; its workspaces do.
      if (pkg.dependencies || pkg.devDependencies || pkg.workspaces) {
        const pm = rt.node.packageManager;
        const argv = installArgv(pm);
        const key = pm.lockfile
          ? installKey([readFileSync(join(dir, pm.lockfile)), dependencyManifest(dir), argv.join(" "), rt.runtime.resolved.packageManager ?? `npm@${rt.runtime.resolved.npm}`, `node${rt.node.version.split(".")[0]}`, process.arch])
          : null;
        if (key && this.#installs.restore(key, dir)) log(job, `dependencies from cache (${pm.lockfile})`);
        else {
          await step(argv, "install");
          if (key) this.#installs.save(key, dir, extraInstallOutputs(pm));
        }
      }
    }
    if (rt.python) {
      await installPythonDeps(rt.python.plan, { venv: rt.python.venv, env: rt.env, cwd: dir, signal: job.signal, log: (line) => log(job, line), step });
    }
  }

  async #runBuild(dir: string, job: BuildJob, rt: PreparedRuntime): Promise<void> {
    const run = (argv: readonly string[]) => this.#step(dir, job, rt, argv, "build");
    if (job.inputs.buildCommand) return run(["/bin/sh", "-c", job.inputs.buildCommand]);
    if (rt.node && existsSync(join(dir, "package.json"))) {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { scripts?: Record<string, string> };
      if (pkg.scripts?.build) return run(runScriptArgv(rt.node.packageManager, "build"));
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
