/**
 * Berth's tool cache (`<data dir>/cache/toolchains/`): one directory per tool and version
 * (`node-20.20.2`, `pnpm-10.34.9`), installed once from the npm registry with `npm install
 * --prefix`. An install goes into a temporary directory that is renamed into place only when
 * complete, so a crash or two builds racing for the same version never leave a half tool behind;
 * within one daemon, concurrent requests for the same tool share one install. Everything is made
 * readable by every user: sandboxed builds and instances run as per-project users.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Marker written last into a complete tool directory. */
const MARKER = ".berth-tool.json";
/** Temporary install directories older than this were left by a crash (installs take seconds). */
const STALE_TMP_MS = 60 * 60_000;

/** Runs one install step (the builder's runStep, so its output lands in the build log). */
export type InstallRunner = (argv: readonly string[], label: string) => Promise<void>;

export class ToolCache {
  readonly root: string;
  readonly #inflight = new Map<string, Promise<string>>();

  constructor(root: string) {
    this.root = root;
    mkdirSync(root, { recursive: true, mode: 0o755 });
    for (const entry of readdirSync(root)) {
      const path = join(root, entry);
      if (entry.startsWith(".tmp-") && Date.now() - statSync(path).mtimeMs > STALE_TMP_MS) rmSync(path, { recursive: true, force: true });
    }
  }

  /** Directory of a tool id (`node-20.20.2`), whether installed or not. */
  dir(id: string): string {
    return join(this.root, id);
  }

  has(id: string): boolean {
    return existsSync(join(this.dir(id), MARKER));
  }

  /**
   * The tool's directory, installing `packages` (npm specs) into it first if it is not there.
   * `prepare` finishes an install (in its temporary directory) before it is marked complete.
   */
  ensure(id: string, packages: readonly string[], run: InstallRunner, prepare?: (dir: string) => void): Promise<string> {
    if (this.has(id)) return Promise.resolve(this.dir(id));
    const pending = this.#inflight.get(id);
    if (pending) return pending;
    const p = this.#install(id, packages, run, prepare).finally(() => this.#inflight.delete(id));
    this.#inflight.set(id, p);
    return p;
  }

  async #install(id: string, packages: readonly string[], run: InstallRunner, prepare: ((dir: string) => void) | undefined): Promise<string> {
    const final = this.dir(id);
    const tmp = join(this.root, `.tmp-${id}-${randomBytes(4).toString("hex")}`);
    mkdirSync(tmp, { mode: 0o755 });
    try {
      // No scripts: these packages ship prebuilt files, and a tool's install must not run code.
      await run(["npm", "install", "--prefix", tmp, "--no-audit", "--no-fund", "--no-package-lock", "--ignore-scripts", "--loglevel=error", ...packages], `install ${packages.join(" ")}`);
      prepare?.(tmp);
      makeWorldReadable(tmp);
      writeFileSync(join(tmp, MARKER), JSON.stringify({ id, packages, installedAt: new Date().toISOString() }), { mode: 0o644 });
      try {
        renameSync(tmp, final);
      } catch (e) {
        // Another process finished the same tool first: keep theirs.
        if (!this.has(id)) {
          if (existsSync(final)) rmSync(final, { recursive: true, force: true }); // a leftover without marker
          renameSync(tmp, final);
        }
        if (!this.has(id)) throw e;
      }
      return final;
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
}

/** Directories 0755, files 0644 or 0755 (if executable by anyone): per-project users run them. */
export function makeWorldReadable(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    const st = lstatSync(path);
    if (st.isSymbolicLink()) continue;
    if (st.isDirectory()) makeWorldReadable(path);
    else chmodSync(path, st.mode & 0o111 ? 0o755 : 0o644);
  }
}
