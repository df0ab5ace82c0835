/**
 * Installed dependencies cached by what decides them: the lockfile, the install command, the
 * package manager and the Node.js major (native modules are built for its ABI). A code-only
 * change restores them instead of installing again. Entries are written to a temporary name
 * and renamed, so a crash or two builds saving the same key never leave a partial entry; the
 * copies run in the build's sandbox (issue 17).
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readRegularFile } from "./paths.ts";

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

/** Runs one step in the build directory, sandboxed as the build's user. */
type Step = (argv: readonly string[], label: string) => Promise<void>;

const RESTORE_SCRIPT = 'set -e; src=$1; dst=$2; shift 2; for p do mkdir -p "$dst/$(dirname "$p")"; cp -a "$src/$p" "$dst/$p"; done';
const SAVE_SCRIPT = [
  'set -e; src=$1; tmp=$2; entry=$3; index=$4; shift 4',
  'mkdir -p "$tmp"',
  'for p do mkdir -p "$tmp/$(dirname "$p")"; cp -a "$src/$p" "$tmp/$p"; done',
  'printf "%s" "$index" > "$tmp/.berth-outputs.json"',
  'rm -rf "$entry"; mv "$tmp" "$entry"',
].join("\n");

/** A relative path an index may name: no absolute paths, no `..`. */
const safeRelative = (p: unknown): p is string => typeof p === "string" && p !== "" && !p.startsWith("/") && !p.split("/").includes("..");

/**
 * The project's dependency cache (`<project build cache>/deps/node/<key>/`). Its files are the
 * project's user's, so every copy into or out of it runs in the build's sandbox as that user; the
 * daemon only reads the index, without following links.
 */
export class SandboxedInstallCache {
  readonly #root: string;
  readonly #step: Step;
  constructor(root: string, step: Step) {
    this.#root = root;
    this.#step = step;
  }

  /** Copies a cached install into `dir`; false when there is none. */
  async restore(key: string, dir: string): Promise<boolean> {
    const entry = join(this.#root, key);
    const text = existsSync(entry) ? readRegularFile(entry, INDEX) : undefined;
    if (text === undefined) return false;
    let paths: unknown;
    try {
      paths = JSON.parse(text);
    } catch {
      return false;
    }
    if (!Array.isArray(paths) || paths.length === 0 || !paths.every(safeRelative)) return false;
    await this.#step(["/bin/sh", "-c", RESTORE_SCRIPT, "restore-cache", entry, dir, ...paths], "restore cache");
    return true;
  }

  /** Saves the install outputs found in `dir` under `key` (first writer wins; the cache is optional). */
  async save(key: string, dir: string, extras: readonly string[] = []): Promise<void> {
    const entry = join(this.#root, key);
    if (existsSync(join(entry, INDEX))) return;
    const paths = installOutputs(dir, extras);
    if (paths.length === 0) return;
    const tmp = `${entry}.tmp-${randomBytes(4).toString("hex")}`;
    await this.#step(["/bin/sh", "-c", SAVE_SCRIPT, "save-cache", dir, tmp, entry, JSON.stringify(paths), ...paths], "save cache").catch(() => {
      // Another build saved the same key meanwhile, or the disk is full: the next build installs.
    });
  }
}
