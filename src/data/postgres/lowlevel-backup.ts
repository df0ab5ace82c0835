/**
 * Base backups without pg_basebackup (the npm server builds lack it, and pg_basebackup of another
 * major refuses a newer server): PostgreSQL's low-level backup API over Berth's own connection.
 * A temporary replication slot keeps the WAL the backup needs; `pg_backup_start` (14:
 * `pg_start_backup`), a copy of the data directory leaving out what pg_basebackup leaves out,
 * `pg_backup_stop` (14: `pg_stop_backup`), whose label and tablespace map are written into the
 * copy, then the WAL segments from the start to the end location copied into its pg_wal (like
 * `-X stream`: the backup restores without the archive). Every file is hashed (SHA-256) as it is
 * copied, into `berth_manifest.json`, which verification checks file by file — Berth's
 * pg_verifybackup for these backups.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { chown, lstat, mkdir, open, readdir, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { RunAs } from "../proc.ts";
import type { PgInstance } from "./instance.ts";
import { parseLsn, segmentName, segmentOf } from "./wal.ts";

export const LOWLEVEL_MANIFEST = "berth_manifest.json";

export interface LowLevelManifest {
  readonly format: "berth-lowlevel-1";
  readonly major: number;
  readonly startLsn: string;
  readonly endLsn: string;
  readonly startWal: string;
  readonly endWal: string;
  readonly files: Readonly<Record<string, { readonly size: number; readonly sha256: string }>>;
}

/** Directories whose contents a base backup leaves out (they are rebuilt or meaningless on restore). */
const EMPTY_DIRS = new Set(["pg_wal", "pg_replslot", "pg_dynshmem", "pg_notify", "pg_serial", "pg_snapshots", "pg_stat_tmp", "pg_subtrans"]);
/** Files a base backup leaves out. */
const SKIP_FILES = new Set(["postmaster.pid", "postmaster.opts", "backup_label", "tablespace_map", "backup_manifest", "current_logfiles", "pg_internal.init", LOWLEVEL_MANIFEST, "backup_label.old"]);

type Files = Record<string, { size: number; sha256: string }>;

/** Copies `from` to `to` while hashing it; a file removed meanwhile (a dropped table) is skipped. */
async function copyHashed(from: string, to: string, mode: number, runAs: RunAs | undefined): Promise<{ size: number; sha256: string } | undefined> {
  let src: Awaited<ReturnType<typeof open>>;
  try {
    src = await open(from, "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  const dst = await open(to, "wx", mode & 0o777);
  const hash = createHash("sha256");
  const buf = Buffer.allocUnsafe(1 << 20);
  let size = 0;
  try {
    for (;;) {
      const { bytesRead } = await src.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      hash.update(chunk);
      await dst.write(chunk);
      size += bytesRead;
    }
  } finally {
    await src.close();
    await dst.close();
  }
  if (runAs) await chown(to, runAs.uid, runAs.gid);
  return { size, sha256: hash.digest("hex") };
}

async function mkdirLike(path: string, mode: number, runAs: RunAs | undefined): Promise<void> {
  await mkdir(path, { mode: mode & 0o777 });
  if (runAs) await chown(path, runAs.uid, runAs.gid);
}

/** Copies a data directory tree as pg_basebackup would, recording each file's hash under `rel`. */
async function copyTree(from: string, to: string, rel: string, files: Files, runAs: RunAs | undefined): Promise<void> {
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (!rel && SKIP_FILES.has(entry.name)) continue;
    if (entry.name === "pg_internal.init" || entry.name.startsWith("pgsql_tmp")) continue;
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(src);
    } catch {
      continue; // removed while copying
    }
    if (st.isDirectory()) {
      await mkdirLike(join(to, entry.name), Number(st.mode), runAs);
      if (!rel && EMPTY_DIRS.has(entry.name)) {
        if (entry.name === "pg_wal") await mkdirLike(join(to, "pg_wal", "archive_status"), 0o700, runAs);
        continue;
      }
      await copyTree(src, join(to, entry.name), path, files, runAs);
    } else if (st.isFile()) {
      const r = await copyHashed(src, join(to, entry.name), Number(st.mode), runAs);
      if (r) files[path] = r;
    }
    // Symlinks (pg_tblspc entries): Berth creates no tablespaces; a backup of one would be incomplete.
  }
}

async function writeHashed(dir: string, name: string, text: string, files: Files, runAs: RunAs | undefined): Promise<void> {
  const path = join(dir, name);
  await writeFile(path, text, { mode: 0o600 });
  if (runAs) await chown(path, runAs.uid, runAs.gid);
  files[name] = { size: Buffer.byteLength(text), sha256: createHash("sha256").update(text).digest("hex") };
}

/**
 * Takes a base backup of the running `inst` into `dir` (which must not exist) through the
 * low-level API. Returns its manifest (also written into `dir`).
 */
export async function lowLevelBaseBackup(inst: PgInstance, dir: string): Promise<LowLevelManifest> {
  const c = await inst.client();
  const major = inst.bins.major;
  const slot = `berth_backup_${process.pid}_${Date.now()}`;
  try {
    // Temporary (dropped with the session) and reserving WAL at once: nothing the backup needs is recycled.
    await c.query("SELECT pg_create_physical_replication_slot($1, true, true)", [slot]);
    const segmentBytes = Number((await c.query<{ b: string }>("SELECT setting AS b FROM pg_settings WHERE name = 'wal_segment_size'")).rows[0]!.b);
    const label = `berth ${basename(dir)}`;
    const start = await c.query<{ lsn: string; wal: string }>(
      major >= 15 ? "SELECT lsn::text AS lsn, pg_walfile_name(lsn) AS wal FROM pg_backup_start($1, true) AS lsn" : "SELECT lsn::text AS lsn, pg_walfile_name(lsn) AS wal FROM pg_start_backup($1, true, false) AS lsn",
      [label],
    );
    const files: Files = {};
    // A failed copy needs no pg_backup_stop: ending the session aborts the backup.
    await mkdirLike(dir, 0o700, inst.runAs);
    await copyTree(inst.dataDir, dir, "", files, inst.runAs);
    const stop = await c.query<{ lsn: string; labelfile: string; spcmapfile: string | null; wal: string }>(
      major >= 15 ? "SELECT lsn::text AS lsn, labelfile, spcmapfile, pg_walfile_name(lsn) AS wal FROM pg_backup_stop(false)" : "SELECT lsn::text AS lsn, labelfile, spcmapfile, pg_walfile_name(lsn) AS wal FROM pg_stop_backup(false, false)",
    );
    // No waiting for the archive (it polls once a second): the WAL is copied from pg_wal below,
    // held there by the slot, and the switch pg_backup_stop makes flushed it.
    const s = stop.rows[0]!;
    await writeHashed(dir, "backup_label", s.labelfile, files, inst.runAs);
    if (s.spcmapfile) await writeHashed(dir, "tablespace_map", s.spcmapfile, files, inst.runAs);
    // The WAL from the start to the end location, as `pg_basebackup -X stream` includes it.
    const startWal = start.rows[0]!.wal;
    const tli = startWal.slice(0, 8);
    const first = segmentOf(parseLsn(start.rows[0]!.lsn), segmentBytes);
    const last = segmentOf(parseLsn(s.lsn), segmentBytes);
    for (let no = first; no <= last; no++) {
      const seg = segmentName({ timeline: Number.parseInt(tli, 16), no }, segmentBytes);
      const r = await copyHashed(join(inst.dataDir, "pg_wal", seg), join(dir, "pg_wal", seg), 0o600, inst.runAs);
      if (!r) throw new Error(`WAL segment ${seg} the backup needs left pg_wal before it was copied`);
      files[`pg_wal/${seg}`] = r;
    }
    const manifest: LowLevelManifest = { format: "berth-lowlevel-1", major, startLsn: start.rows[0]!.lsn, endLsn: s.lsn, startWal, endWal: segmentName({ timeline: Number.parseInt(tli, 16), no: last }, segmentBytes), files };
    await writeFile(join(dir, LOWLEVEL_MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`, { mode: 0o600 });
    if (inst.runAs) await chown(join(dir, LOWLEVEL_MANIFEST), inst.runAs.uid, inst.runAs.gid);
    return manifest;
  } finally {
    await c.end().catch(() => {});
  }
}

async function hashFile(path: string): Promise<{ size: number; sha256: string } | undefined> {
  let f: Awaited<ReturnType<typeof open>>;
  try {
    f = await open(path, "r");
  } catch {
    return undefined;
  }
  const hash = createHash("sha256");
  const buf = Buffer.allocUnsafe(1 << 20);
  let size = 0;
  try {
    for (;;) {
      const { bytesRead } = await f.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
  } finally {
    await f.close();
  }
  return { size, sha256: hash.digest("hex") };
}

export function isLowLevelBackup(dir: string): boolean {
  return existsSync(join(dir, LOWLEVEL_MANIFEST));
}

export function readLowLevelManifest(dir: string): LowLevelManifest {
  return JSON.parse(readFileSync(join(dir, LOWLEVEL_MANIFEST), "utf8")) as LowLevelManifest;
}

/** Checks every file of a low-level backup against its manifest; throws naming the first damaged one. */
export async function verifyLowLevelBackup(dir: string): Promise<{ files: number; bytes: number }> {
  const m = readLowLevelManifest(dir);
  if (m.format !== "berth-lowlevel-1") throw new Error(`${LOWLEVEL_MANIFEST}: unknown format ${String(m.format)}`);
  if (!m.files.backup_label) throw new Error("the manifest lists no backup_label");
  let bytes = 0;
  let n = 0;
  for (const [path, want] of Object.entries(m.files)) {
    const got = await hashFile(join(dir, path));
    if (!got) throw new Error(`"${path}" is on the manifest but not in the backup`);
    if (got.size !== want.size) throw new Error(`"${path}" has size ${got.size} on disk compared to ${want.size} in the manifest`);
    if (got.sha256 !== want.sha256) throw new Error(`checksum mismatch for file "${path}"`);
    bytes += got.size;
    n++;
  }
  return { files: n, bytes };
}
