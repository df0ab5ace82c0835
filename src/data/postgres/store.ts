/**
 * The backup store of one PostgreSQL server: a directory that describes itself, so backups can
 * be listed and restored even when the control-plane database is lost.
 *
 *   <root>/base/<id>/        pg_basebackup output (plain format, with backup_manifest)
 *   <root>/base/<id>.json    its BackupRecord, written only after pg_verifybackup passed
 *   <root>/wal/              archived WAL segments (archive-wal script)
 *   <root>/dumps/<id>.dump   pg_dump custom-format dumps (+ .json)
 *   <root>/points/<name>.json verification points (restore point + table checksums)
 *   <root>/drills/<id>.json  drill results
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BackupRecord } from "../provider.ts";
import type { RunAs } from "../proc.ts";
import { mkdirOwned } from "../files.ts";

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
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, "utf8")) as T;

export class BackupStore {
  readonly root: string;
  readonly baseDir: string;
  readonly walDir: string;
  readonly dumpDir: string;
  readonly pointDir: string;
  readonly drillDir: string;

  constructor(root: string) {
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

  /** Verified backups, oldest first. A directory without its .json is an unfinished or failed backup. */
  list(): BackupRecord[] {
    const read = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => readJson<BackupRecord>(join(dir, f))) : []);
    return [...read(this.baseDir), ...read(this.dumpDir)].sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
  }

  get(id: string): BackupRecord | undefined {
    return this.list().find((b) => b.id === id);
  }

  save(record: BackupRecord): void {
    const dir = record.kind === "base" ? this.baseDir : this.dumpDir;
    writeFileSync(join(dir, `${record.id}.json`), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
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
          .filter((f) => /^[0-9A-F]{24}$/.test(f))
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
