/**
 * Builds a service from a directory source into an artifact directory. The artifact is keyed by
 * the build digest (source revision + build settings), so an unchanged service is never rebuilt;
 * installed dependencies are cached by the lockfile's hash, so a code-only change does not
 * reinstall them. Runtime detection: Node (npm / pnpm / yarn by lockfile), Python (virtualenv with
 * system site-packages), static (build, then publish dir); an explicit build command always wins.
 */
import { createHash, randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BerthError } from "../core/errors.ts";
import type { Artifact, LogLine } from "../engine/engine.ts";
import { runStep } from "./run-command.ts";

/** What a build needs to know of a release's inputs. */
export interface BuildSettings {
  readonly runtime: string;
  readonly buildCommand: string | null;
  readonly publishDir: string | null;
  /** Static sites: headers, redirects, rewrites, SPA flag, written next to the published files. */
  readonly extra: unknown;
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
  readonly #cacheDir: string;
  readonly #inflight = new Map<string, Promise<Artifact>>();
  constructor(opts: { artifactsDir: string; cacheDir: string }) {
    this.#artifactsDir = opts.artifactsDir;
    this.#cacheDir = opts.cacheDir;
    mkdirSync(this.#artifactsDir, { recursive: true });
    mkdirSync(this.#cacheDir, { recursive: true });
  }

  /** Directories in which a killed daemon may have left unfinished `.tmp-` work (see leftovers.ts). */
  unfinishedParents(): string[] {
    const node = join(this.#cacheDir, "node");
    const keys = existsSync(node) ? readdirSync(node).map((k) => join(node, k)) : [];
    return [this.#artifactsDir, ...keys];
  }

  /**
   * Builds of the same digest share one run: releases of many services are cut side by side
   * (issue 15), and two builds renaming over one artifact dir could remove it under a running
   * instance.
   */
  build(job: BuildJob): Promise<Artifact> {
    const running = this.#inflight.get(job.digest);
    if (running) return running;
    const p = this.#build(job).finally(() => this.#inflight.delete(job.digest));
    this.#inflight.set(job.digest, p);
    return p;
  }

  async #build(job: BuildJob): Promise<Artifact> {
    const final = join(this.#artifactsDir, job.digest);
    if (existsSync(join(final, ".berth-built"))) {
      job.onLog({ at: new Date().toISOString(), instance: "build", stream: "stdout", line: `build cache hit: ${job.digest.slice(0, 12)}` });
      return { kind: "dir", path: final, digest: job.digest };
    }
    const work = `${final}.tmp-${randomBytes(4).toString("hex")}`;
    try {
      cpSync(job.sourceDir, work, { recursive: true, filter: (src) => !SKIP.has(src.split("/").pop() ?? "") });
      // An explicit build command always wins: it installs what it needs itself.
      if (!job.inputs.buildCommand) await this.#install(work, job);
      await this.#runBuild(work, job);
      if (job.inputs.publishDir && !existsSync(join(work, job.inputs.publishDir))) {
        throw new BerthError("BERTH_BUILD_OUTPUT_MISSING", { path: job.inputs.publishDir });
      }
      if (job.inputs.runtime === "static" || job.inputs.publishDir) {
        writeFileSync(join(work, ".berth-static.json"), JSON.stringify((job.inputs.extra as { site?: unknown } | null)?.site ?? {}));
      }
      writeFileSync(join(work, ".berth-built"), new Date().toISOString());
      rmSync(final, { recursive: true, force: true });
      renameSync(work, final);
      return { kind: "dir", path: final, digest: job.digest };
    } catch (e) {
      rmSync(work, { recursive: true, force: true });
      throw e;
    }
  }

  async #install(dir: string, job: BuildJob): Promise<void> {
    const step = (argv: readonly string[], label: string) =>
      runStep(argv, { cwd: dir, env: job.env, timeoutMs: job.timeoutMs, signal: job.signal, onLog: job.onLog, label });
    if (existsSync(join(dir, "package.json"))) {
      const { argv, lockfile } = nodeInstallCommand(dir);
      const key = lockfile ? createHash("sha256").update(readFileSync(join(dir, lockfile))).update(argv.join(" ")).digest("hex") : null;
      const cached = key ? join(this.#cacheDir, "node", key, "node_modules") : null;
      if (cached && existsSync(cached)) {
        job.onLog({ at: new Date().toISOString(), instance: "build", stream: "stdout", line: `dependencies from cache (${lockfile})` });
        cpSync(cached, join(dir, "node_modules"), { recursive: true, verbatimSymlinks: true });
        return;
      }
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { dependencies?: object; devDependencies?: object; workspaces?: unknown };
      // [e2e fix] A workspaces root declares no dependencies itself; its workspaces do.
      if (!pkg.dependencies && !pkg.devDependencies && !pkg.workspaces) return;
      await step(argv, "install");
      if (cached && existsSync(join(dir, "node_modules"))) {
        // Copied aside, then renamed: a daemon killed mid-copy must not leave a partial cache
        // that every later build would trust (leftovers.ts removes the `.tmp-` copy at start).
        mkdirSync(join(cached, ".."), { recursive: true });
        const staging = `${cached}.tmp-${randomBytes(4).toString("hex")}`;
        cpSync(join(dir, "node_modules"), staging, { recursive: true, verbatimSymlinks: true });
        if (existsSync(cached)) rmSync(staging, { recursive: true, force: true });
        else renameSync(staging, cached);
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

  async #runBuild(dir: string, job: BuildJob): Promise<void> {
    const run = (argv: readonly string[]) => runStep(argv, { cwd: dir, env: job.env, timeoutMs: job.timeoutMs, signal: job.signal, onLog: job.onLog, label: "build" });
    if (job.inputs.buildCommand) return run(["/bin/sh", "-c", job.inputs.buildCommand]);
    if (existsSync(join(dir, "package.json"))) {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { scripts?: Record<string, string> };
      if (pkg.scripts?.build) return run(["npm", "run", "build"]);
    }
  }
}
