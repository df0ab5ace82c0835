/**
 * The revision of a directory source: a content hash of the files a service builds from, so an
 * unchanged tree yields the same digest and no rebuild. Dependency folders and VCS metadata are
 * not part of the revision (they are rebuilt from the lockfile).
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const SKIP = new Set(["node_modules", ".git", ".berth", ".venv", "__pycache__", ".next", "dist"]);

/** Files under `dir` in a stable order, relative paths with forward slashes. */
export function listSourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (SKIP.has(entry.name)) continue;
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push(relative(dir, full).split("\\").join("/"));
    }
  };
  walk(dir);
  return out;
}

/** sha256 over (path, mode, content) of every source file. */
export function directoryDigest(dir: string, filter: (path: string) => boolean = () => true): string {
  const hash = createHash("sha256");
  for (const file of listSourceFiles(dir)) {
    if (!filter(file)) continue;
    const full = join(dir, file);
    hash.update(file).update("\0").update(String(statSync(full).mode & 0o111 ? 1 : 0)).update("\0");
    hash.update(readFileSync(full)).update("\0");
  }
  return hash.digest("hex");
}
