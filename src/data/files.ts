/**
 * Files and directories Berth creates for the servers it runs: owned by the server's OS user
 * when Berth is root, sized for backup records, named for sorting.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunAs } from "./proc.ts";

/** Writes a file and hands it to `runAs` so the server can read it. */
export function writeOwned(path: string, content: string, mode: number, runAs: RunAs | undefined): void {
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
  if (runAs) chownSync(path, runAs.uid, runAs.gid);
}

/** Creates a directory owned by `runAs` with the given mode. */
export function mkdirOwned(path: string, mode: number, runAs: RunAs | undefined): void {
  mkdirSync(path, { recursive: true, mode });
  chmodSync(path, mode);
  if (runAs) chownSync(path, runAs.uid, runAs.gid);
}

/** Sortable, unique backup ids: `b-20260122T041500Z-ab12`. */
export function backupId(prefix: string, nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `${prefix}-${stamp}-${randomBytes(2).toString("hex")}`;
}

/** Total size of a file or directory tree in bytes. */
export function sizeOf(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const e of readdirSync(path, { recursive: true, withFileTypes: true })) if (e.isFile()) total += statSync(join(e.parentPath, e.name)).size;
  return total;
}
