/**
 * Builds a service from a directory source into an artifact directory. The artifact is keyed by
 * the build digest (source revision + build settings), so an unchanged service is never rebuilt;
 * installed dependencies are cached by the lockfile's hash, so a code-only change does not
 * reinstall them. Runtime detection: Node (npm / pnpm / yarn by lockfile), Python (virtualenv with
 * system site-packages), static (build, then publish dir); an explicit build command always wins.
 *
 * Issue 17: the daemon (root) only copies the checked source in and renames the result; every
 * step that runs code, and every copy into or out of the dependency cache, runs in the build's
 * sandbox as the project's user (sandbox.ts). rootDir and publishDir must resolve inside their
 * trees; symlinks leaving the source are refused; files the build could have replaced are read
 * and written without following links (paths.ts). Caches are per project: one project's build
 * can never plant dependencies in another's.
 */
import { createHash, randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BerthError } from "../core/errors.ts";
import type { Artifact, LogLine } from "../engine/engine.ts";
import { assertNoEscapingSymlinks, readRegularFile, resolveInside, writeNewFile } from "./paths.ts";
import { runStep } from "./run-command.ts";
import { type BuildCell, type BuildLimits, BuildSandbox, buildLimitsOf } from "./sandbox.ts";

/** What a build needs to know of a release's inputs. */
export interface BuildSettings {
  readonly runtime: string;
  readonly buildCommand: string | null;
  readonly publishDir: string | null;
  /** Static sites: headers, redirects, rewrites, SPA flag, written next to the published files. */
  readonly extra: unknown;
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
const LOCKFILES: readonly [string, readonly string[]][] = [
  ["pnpm-lock.yaml", ["pnpm", "install", "--frozen-lockfile"]],
  ["yarn.lock", ["yarn", "install", "--frozen-lockfile"]],
  ["package-lock.json", ["npm", "ci", "--no-audit", "--no-fund"]],
];

/** The install command for a Node project, by lockfile. */
export function nodeInstallCommand(dir: string): { argv: readonly string[]; lockfile: string | null } {
  for (const [file, argv] of LOCKFILES) if (existsSync(join(dir, file))) return { argv, lockfile: file };
  return { argv: ["npm", "install", "--no-audit", "--no-fund"], lockfile: null };
}

export class DirBuilder {
  readonly #artifactsDir: string;
  readonly #sandbox: BuildSandbox;
  constructor(opts: { artifactsDir: string; cacheDir: string; sandbox?: BuildSandbox }) {
    this.#artifactsDir = opts.artifactsDir;
    this.#sandbox = opts.sandbox ?? new BuildSandbox({ cacheRoot: opts.cacheDir, readOnlyPaths: [], cgroups: undefined, sandboxed: false });
    for (const d of [opts.artifactsDir, opts.cacheDir]) mkdirSync(d, { recursive: true });
  }

  async build(job: BuildJob): Promise<Artifact> {
    const final = join(this.#artifactsDir, job.digest);
    if (existsSync(join(final, ".berth-built"))) {
      job.onLog({ at: new Date().toISOString(), instance: "build", stream: "stdout", line: `build cache hit: ${job.digest.slice(0, 12)}` });
      return { kind: "dir", path: final, digest: job.digest };
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
      cell = await this.#sandbox.open({ project: job.project, service: job.service, workDir: work, hostEnv: job.env, limits });
      // An explicit build command always wins: it installs what it needs itself.
      if (!job.inputs.buildCommand) await this.#install(work, job, cell, limits);
      await this.#runBuild(work, job, cell, limits);
      if (job.inputs.publishDir) {
        const published = resolveInside(work, job.inputs.publishDir, `services.${job.service}.publishDir`);
        if (!existsSync(published)) throw new BerthError("BERTH_BUILD_OUTPUT_MISSING", { path: job.inputs.publishDir });
      }
      if (job.inputs.runtime === "static" || job.inputs.publishDir) {
        writeNewFile(work, ".berth-static.json", JSON.stringify((job.inputs.extra as { site?: unknown } | null)?.site ?? {}));
      }
      writeNewFile(work, ".berth-built", new Date().toISOString());
      rmSync(final, { recursive: true, force: true });
      renameSync(work, final);
      return { kind: "dir", path: final, digest: job.digest };
    } catch (e) {
      rmSync(work, { recursive: true, force: true });
      throw e;
    } finally {
      cell?.close();
    }
  }

  #step(dir: string, job: BuildJob, cell: BuildCell, limits: BuildLimits) {
    return (argv: readonly string[], label: string) =>
      runStep(argv, {
        cwd: dir,
        env: cell.env,
        timeoutMs: limits.timeoutMs,
        signal: job.signal,
        onLog: job.onLog,
        label,
        service: `${job.project}/${job.service}`,
        launch: (a, cwd) => cell.plan(a, cwd),
        limitReached: () => cell.limitReached(),
        killAll: () => cell.killAll(),
      });
  }

  async #install(dir: string, job: BuildJob, cell: BuildCell, limits: BuildLimits): Promise<void> {
    const step = this.#step(dir, job, cell, limits);
    const pkgText = readRegularFile(dir, "package.json");
    if (pkgText !== undefined) {
      const { argv, lockfile } = nodeInstallCommand(dir);
      const lock = lockfile ? readRegularFile(dir, lockfile) : undefined;
      const key = lock !== undefined ? createHash("sha256").update(lock).update(argv.join(" ")).digest("hex") : null;
      // Per project: the cache is the project's user's, inside its sandbox.
      const cached = key ? join(cell.cacheDir, "deps", "node", key, "node_modules") : null;
      if (cached && existsSync(cached)) {
        job.onLog({ at: new Date().toISOString(), instance: "build", stream: "stdout", line: `dependencies from cache (${lockfile})` });
        await step(["cp", "-a", cached, join(dir, "node_modules")], "restore cache");
        return;
      }
      const pkg = parseJson(pkgText, "package.json") as { dependencies?: object; devDependencies?: object; workspaces?: unknown };
      // [e2e fix] A workspaces root declares no dependencies itself; its workspaces do.
      if (!pkg.dependencies && !pkg.devDependencies && !pkg.workspaces) return;
      await step(argv, "install");
      if (cached && existsSync(join(dir, "node_modules"))) {
        await step(["/bin/sh", "-c", 'mkdir -p "$1" && cp -a "$2" "$1/.tmp-$$" && mv "$1/.tmp-$$" "$1/node_modules"', "save-cache", join(cached, ".."), join(dir, "node_modules")], "save cache");
      }
      return;
    }
    if (existsSync(join(dir, "requirements.txt")) || existsSync(join(dir, "pyproject.toml"))) {
      // Debian's python packages belong to /usr/bin/python3; --system-site-packages lets the venv see them.
      await step(["/usr/bin/python3", "-m", "venv", "--system-site-packages", ".venv"], "venv");
      const target = existsSync(join(dir, "requirements.txt")) ? ["-r", "requirements.txt"] : ["."];
      await step([".venv/bin/pip", "install", "--no-input", "--disable-pip-version-check", "--no-build-isolation", ...target], "pip");
    }
  }

  async #runBuild(dir: string, job: BuildJob, cell: BuildCell, limits: BuildLimits): Promise<void> {
    const step = this.#step(dir, job, cell, limits);
    if (job.inputs.buildCommand) return step(["/bin/sh", "-c", job.inputs.buildCommand], "build");
    // Read without following links: the install step ran the project's code (postinstall scripts).
    const pkgText = readRegularFile(dir, "package.json");
    if (pkgText !== undefined) {
      const pkg = parseJson(pkgText, "package.json") as { scripts?: Record<string, string> };
      if (pkg.scripts?.build) return step(["npm", "run", "build"], "build");
    }
  }
}

/** JSON.parse without echoing the text into the error (it may not be what it claims to be). */
function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new BerthError("BERTH_BUILD_FAILED", { step: "detect", detail: `${file} is not valid JSON` });
  }
}
