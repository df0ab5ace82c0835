/**
 * Installed dependencies cached by what decides them: the lockfile, the install command, the
 * package manager and the Node.js major (native modules are built for its ABI). A code-only
 * change restores them instead of installing again. Entries are written to a temporary name
 * and renamed, so a crash or two builds saving the same key never leave a partial entry.
 */
import { createHash, randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const INDEX = ".berth-outputs.json";
/** Directories never searched for node_modules (VCS, the virtualenv, inside node_modules itself). */
const NOT_SEARCHED = new Set(["node_modules", ".git", ".venv", ".berth"]);

/** sha256 of the parts, in order. */
export function installKey(parts: readonly (string | Buffer)[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex");
}

/** package.json fields that decide what an install does (scripts and the rest do not). */
const DEPENDENCY_FIELDS = ["name", "version", "dependencies", "devDependencies", "optionalDependencies", "peerDependencies", "bundleDependencies", "workspaces", "resolutions", "overrides", "pnpm", "packageManager"];

/**
 * The dependency declarations of every package.json in the tree (workspaces included): part of
 * the install key, so a package.json out of step with its lockfile reaches the frozen install
 * (which refuses it) instead of a cache hit.
 */
export function dependencyManifest(dir: string, depth = 4): string {
  const out: [string, unknown][] = [];
  const walk = (rel: string, level: number) => {
    const pj = join(dir, rel, "package.json");
    if (existsSync(pj)) {
      let pkg: Record<string, unknown> = {};
      try {
        pkg = JSON.parse(readFileSync(pj, "utf8")) as Record<string, unknown>;
      } catch {
        pkg = { unreadable: readFileSync(pj, "utf8") };
      }
      out.push([rel || ".", DEPENDENCY_FIELDS.map((f) => [f, pkg[f]])]);
    }
    if (level >= depth) return;
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory() && !NOT_SEARCHED.has(e.name)) walk(rel ? `${rel}/${e.name}` : e.name, level + 1);
    }
  };
  walk("", 0);
  return JSON.stringify(out);
}

/** What an install produced: every node_modules directory (workspaces have their own) and `extras` that exist. */
export function installOutputs(dir: string, extras: readonly string[] = [], depth = 4): string[] {
  const out: string[] = [];
  const walk = (rel: string, level: number) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.name === "node_modules") out.push(path);
      else if (!NOT_SEARCHED.has(e.name) && level < depth) walk(path, level + 1);
    }
  };
  walk("", 0);
  return [...out, ...extras.filter((e) => existsSync(join(dir, e)))];
}

export class InstallCache {
  readonly #root: string;
  constructor(root: string) {
    this.#root = root;
    mkdirSync(root, { recursive: true });
  }

  /** Copies a cached install into `dir`; false when there is none. */
  restore(key: string, dir: string): boolean {
    const entry = join(this.#root, key);
    if (!existsSync(join(entry, INDEX))) return false;
    const paths = JSON.parse(readFileSync(join(entry, INDEX), "utf8")) as string[];
    for (const p of paths) {
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      cpSync(join(entry, p), join(dir, p), { recursive: true, verbatimSymlinks: true });
    }
    return true;
  }

  /** Saves the install outputs found in `dir` under `key` (first writer wins). */
  save(key: string, dir: string, extras: readonly string[] = []): void {
    const entry = join(this.#root, key);
    if (existsSync(join(entry, INDEX))) return;
    const paths = installOutputs(dir, extras);
    if (paths.length === 0) return;
    const tmp = `${entry}.tmp-${randomBytes(4).toString("hex")}`;
    try {
      for (const p of paths) {
        mkdirSync(dirname(join(tmp, p)), { recursive: true });
        cpSync(join(dir, p), join(tmp, p), { recursive: true, verbatimSymlinks: true });
      }
      writeFileSync(join(tmp, INDEX), JSON.stringify(paths));
      rmSync(entry, { recursive: true, force: true }); // a leftover without index
      renameSync(tmp, entry);
    } catch {
      // Another build saved the same key meanwhile, or the disk is full: the cache is optional.
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
}
