/**
 * The backup store of one PostgreSQL server: a directory that describes itself, so backups can
 * be listed and restored even when the control-plane database is lost.
 *
 *   <root>/base/<id>/        pg_basebackup output (plain format, with backup_manifest)
 *   <root>/base/<id>.json    its BackupRecord, written only after pg_verifybackup passed
 *   <root>/wal/              archived WAL segments (archive-wal script)
 *   <root>/dumps/<id>.dump   pg_dump custom-format dumps (+ .json)
 *   <root>/points/<name>.json verification points (restore point + table checksums)
 *   <root>/drills/<id>.json  drill results (+ <id>.log: the scratch server's log of a failed drill)
 *   <root>/store.json        which server archived here, since when, restored from what (lineage.ts)
 *   <root>/wal/.last         the newest segment the archive script stored (a deleted one is a gap)
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { BackupRecord } from "../provider.ts";
import type { RunAs } from "../proc.ts";
import { mkdirOwned } from "../files.ts";
import type { StoreMeta } from "./lineage.ts";
import { SEGMENT } from "./wal.ts";

/** Table name -> row count and an order-independent checksum, recorded at a restore point. */
export interface VerificationPoint {
  readonly name: string;
  readonly at: string;
  readonly lsn: string;
  readonly tables: Readonly<Record<string, { readonly rows: number; readonly checksum: string }>>;
}

export interface DrillRecord {
  readonly id: string;
  readonly at: string;
  readonly target: string;
  readonly backup: string;
  readonly ok: boolean;
  readonly rtoMs: number;
  readonly rpoMs: number;
  readonly tables: number;
  readonly detail: string;
  /** WAL segments checked for continuity and CRCs, first and last (drills since issue 16). */
  readonly walChecked?: { readonly first: string; readonly last: string; readonly segments: number };
  /** Server log of the scratch instance of a failed drill, kept for the investigation. */
  readonly logPath?: string;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, "utf8")) as T;

export class BackupStore {
  readonly root: string;
  readonly baseDir: string;
  readonly walDir: string;
  readonly dumpDir: string;
  readonly pointDir: string;
  readonly drillDir: string;
  readonly instance: string;

  constructor(root: string) {
    this.instance = basename(root);
    this.root = root;
    this.baseDir = join(root, "base");
    this.walDir = join(root, "wal");
    this.dumpDir = join(root, "dumps");
    this.pointDir = join(root, "points");
    this.drillDir = join(root, "drills");
  }

  /** Creates the layout; the server's user must be able to write WAL and backups. */
  prepare(runAs: RunAs | undefined): void {
    mkdirOwned(this.root, 0o700, runAs);
    for (const d of [this.baseDir, this.walDir, this.dumpDir]) mkdirOwned(d, 0o700, runAs);
    for (const d of [this.pointDir, this.drillDir]) mkdirOwned(d, 0o700, undefined);
  }

  /**
   * Recorded backups, oldest first (a directory without its .json is an unfinished or failed
   * one). `verified` turns false when a later check found the backup damaged (`failure` says why).
   */
  list(): BackupRecord[] {
    // Paths are where the store is now, not where it was written: a store copied to another
    // machine (disaster recovery) or directory still works.
    const here = (b: BackupRecord): BackupRecord => ({ ...b, path: b.kind === "base" ? join(this.baseDir, b.id) : join(this.dumpDir, `${b.id}.dump`), store: this.instance });
    const read = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => here(readJson<BackupRecord>(join(dir, f)))) : []);
    return [...read(this.baseDir), ...read(this.dumpDir)].sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
  }

  /** Records that a backup failed a later check: listed `VERIFIED no`, never restored from again. */
  markFailed(id: string, failure: string): void {
    const b = this.get(id);
    if (!b) return;
    const { store: _s, ...record } = b;
    this.save({ ...record, verified: false, failure });
  }

  get exists(): boolean {
    return existsSync(this.baseDir) || existsSync(this.walDir);
  }

  /** The store's lineage record; stores written before it existed get one derived from their content. */
  meta(): StoreMeta {
    const p = join(this.root, "store.json");
    if (existsSync(p)) return readJson<StoreMeta>(p);
    const first = this.list().find((b) => b.kind === "base");
    const seg = first?.startWal ?? this.walSegments()[0];
    const liveFrom = first?.startedAt ?? (existsSync(this.root) ? statSync(this.root).mtime.toISOString() : new Date(0).toISOString());
    return { instance: this.instance, liveFrom, ...(seg ? { timeline: Number.parseInt(seg.slice(0, 8), 16) } : {}) };
  }

  saveMeta(meta: StoreMeta): void {
    const p = join(this.root, "store.json");
    writeFileSync(`${p}.tmp`, `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
    renameSync(`${p}.tmp`, p);
  }

  /** The newest segment the archive script reported storing (it may since have been deleted). */
  lastArchived(): string | undefined {
    try {
      const name = readFileSync(join(this.walDir, ".last"), "utf8").trim();
      return SEGMENT.test(name) ? name : undefined;
    } catch {
      return undefined;
    }
  }

  /** Archive time (mtime) of a segment, or undefined when it is not there. */
  archivedAt(name: string): number | undefined {
    try {
      return statSync(join(this.walDir, name)).mtimeMs;
    } catch {
      return undefined;
    }
  }

  /** The text of a timeline history file in the archive (`00000002.history`). */
  history(timeline: number): string | undefined {
    try {
      return readFileSync(join(this.walDir, `${timeline.toString(16).toUpperCase().padStart(8, "0")}.history`), "utf8");
    } catch {
      return undefined;
    }
  }

  /** Size of one WAL segment in this archive (1 MB for servers Berth created). */
  segmentSize(): number {
    const first = this.walSegments()[0];
    return first ? statSync(join(this.walDir, first)).size : 1024 * 1024;
  }

  get(id: string): BackupRecord | undefined {
    return this.list().find((b) => b.id === id);
  }

  /** Written whole or not at all (a daemon killed mid-write must not leave a record list() cannot read). */
  save(record: BackupRecord): void {
    const dir = record.kind === "base" ? this.baseDir : this.dumpDir;
    const p = join(dir, `${record.id}.json`);
    writeFileSync(`${p}.tmp`, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    renameSync(`${p}.tmp`, p);
  }

  /**
   * Removes what a backup interrupted by a killed daemon left: a base backup directory or a dump
   * file without its record (a backup is recorded only once verified), and half-written records.
   * Called before a new backup, under the server's lock, so no backup is in progress.
   */
  sweepUnrecorded(): string[] {
    const gone: string[] = [];
    for (const [dir, suffix] of [
      [this.baseDir, ""],
      [this.dumpDir, ".dump"],
    ] as const) {
      if (!existsSync(dir)) continue;
      const names = readdirSync(dir);
      for (const f of names) {
        const orphan = f.endsWith(".json.tmp") || (!f.endsWith(".json") && f.endsWith(suffix) && !names.includes(`${suffix ? f.slice(0, -suffix.length) : f}.json`));
        if (!orphan) continue;
        rmSync(join(dir, f), { recursive: true, force: true });
        gone.push(f);
      }
    }
    return gone;
  }

  remove(record: BackupRecord): void {
    const dir = record.kind === "base" ? this.baseDir : this.dumpDir;
    rmSync(join(dir, `${record.id}.json`), { force: true });
    rmSync(record.path, { recursive: true, force: true });
  }

  /** Archived WAL segment names (24 hex digits), sorted. */
  walSegments(): string[] {
    return existsSync(this.walDir)
      ? readdirSync(this.walDir)
          .filter((f) => SEGMENT.test(f))
          .sort()
      : [];
  }

  removeWal(names: readonly string[]): void {
    for (const n of names) rmSync(join(this.walDir, n), { force: true });
  }

  savePoint(p: VerificationPoint): void {
    writeFileSync(join(this.pointDir, `${p.name}.json`), `${JSON.stringify(p, null, 2)}\n`, { mode: 0o600 });
  }

  points(): VerificationPoint[] {
    return existsSync(this.pointDir)
      ? readdirSync(this.pointDir)
          .filter((f) => f.endsWith(".json"))
          .map((f) => readJson<VerificationPoint>(join(this.pointDir, f)))
          .sort((a, b) => a.at.localeCompare(b.at))
      : [];
  }

  drillLogPath(id: string): string {
    return join(this.drillDir, `${id}.log`);
  }

  saveDrill(d: DrillRecord): void {
    writeFileSync(join(this.drillDir, `${d.id}.json`), `${JSON.stringify(d, null, 2)}\n`, { mode: 0o600 });
  }

  drills(): DrillRecord[] {
    return existsSync(this.drillDir)
      ? readdirSync(this.drillDir)
          .filter((f) => f.endsWith(".json"))
          .map((f) => readJson<DrillRecord>(join(this.drillDir, f)))
          .sort((a, b) => a.at.localeCompare(b.at))
      : [];
  }
}
