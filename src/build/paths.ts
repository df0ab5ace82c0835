/**
 * Paths inside a source tree or a build directory, as the daemon (root) touches them (issue 17).
 * Every path a blueprint names (rootDir, publishDir) must resolve inside its tree, following
 * symlinks; a symlink in the source that points outside is refused before anything is copied;
 * and files the build may have replaced are read and written without following symlinks, so a
 * build script cannot make root read /etc/shadow or overwrite /etc/passwd through a link.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { BerthError } from "../core/errors.ts";

/** True when `path` is `root` or below it (both absolute and normalized). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/**
 * `root/rel`, symlinks resolved, refused unless it stays inside `root` (itself resolved).
 * `field` names the blueprint field in the error. Throws when the path does not exist.
 */
export function resolveInside(root: string, rel: string, field: string): string {
  const realRoot = realpathSync(root);
  const lexical = resolve(realRoot, rel);
  if (!isInside(realRoot, lexical)) throw new BerthError("BERTH_SOURCE_PATH_ESCAPES", { field, path: rel, detail: "it points above the top of the tree" });
  let real: string;
  try {
    real = realpathSync(lexical);
  } catch {
    return lexical; // absent: callers report a missing path their own way
  }
  if (!isInside(realRoot, real)) throw new BerthError("BERTH_SOURCE_PATH_ESCAPES", { field, path: rel, detail: `a symlink leads to ${real}` });
  return real;
}

/**
 * Walks the tree (skipping `skip` names, as the copy does) and refuses any symlink whose target
 * lies outside `root`. Relative links between files of the tree are fine.
 */
export function assertNoEscapingSymlinks(root: string, skip: ReadonlySet<string>, field = "symlink"): void {
  const realRoot = realpathSync(root);
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (skip.has(e.name)) continue;
      const full = join(dir, e.name);
      if (e.isSymbolicLink()) {
        const target = readlinkSync(full);
        const lexical = resolve(dirname(full), target);
        let real = lexical;
        try {
          real = realpathSync(full);
        } catch {
          // dangling: judge by where it points
        }
        if (!isInside(realRoot, lexical) || !isInside(realRoot, real)) {
          throw new BerthError("BERTH_SOURCE_PATH_ESCAPES", { field, path: relative(realRoot, full), detail: `it points to ${target}` });
        }
      } else if (e.isDirectory()) walk(full);
    }
  };
  walk(realRoot);
}

/** Throws unless no component of `rel` below `root` is a symlink (the build may have planted one). */
function assertNoLinkOnTheWay(root: string, rel: string): void {
  let cur = root;
  for (const part of rel.split("/").filter(Boolean).slice(0, -1)) {
    cur = join(cur, part);
    if (lstatSync(cur, { throwIfNoEntry: false })?.isSymbolicLink()) {
      throw new BerthError("BERTH_SOURCE_PATH_ESCAPES", { field: "the build output", path: relative(root, cur), detail: "the build replaced a directory with a symlink" });
    }
  }
}

/** Reads `root/rel` only if it is a regular file reached without symlinks; undefined otherwise. */
export function readRegularFile(root: string, rel: string): string | undefined {
  assertNoLinkOnTheWay(root, rel);
  let fd: number;
  try {
    fd = openSync(join(root, rel), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined; // absent, or a symlink (ELOOP)
  }
  try {
    // A FIFO or device planted by the build would block or leak: regular files only.
    return fstatSync(fd).isFile() ? readFileSync(fd, "utf8") : undefined;
  } finally {
    closeSync(fd);
  }
}

/** Writes `root/rel` as a new regular file, replacing whatever the build left there (never through a link). */
export function writeNewFile(root: string, rel: string, content: string): void {
  assertNoLinkOnTheWay(root, rel);
  const path = join(root, rel);
  rmSync(path, { force: true, recursive: true });
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
}
