/**
 * Base backups (pg_basebackup -X stream -c fast), each verified with pg_verifybackup before it
 * is recorded; logical dumps (pg_dump, checked with pg_restore --list); the WAL archiver's
 * health. Every failure emits `backup:failed` and throws: a backup never fails silently.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BerthError, isBerthError } from "../../core/errors.ts";
import type { EventSink } from "../../core/events.ts";
import type { BackupRecord } from "../provider.ts";
import { runProgram } from "../proc.ts";
import type { PgInstance } from "./instance.ts";
import { backupId, sizeOf } from "../files.ts";
import { isLowLevelBackup, lowLevelBaseBackup, verifyLowLevelBackup } from "./lowlevel-backup.ts";
import type { BackupStore } from "./store.ts";

export interface BackupContext {
  readonly resource: string;
  readonly environment: string;
  readonly events: EventSink;
  readonly now: () => number;
  /** Whether the server archives WAL (pitr): a backup without it cannot be replayed forward. */
  readonly archiving?: boolean;
}

/** Reads `START WAL LOCATION: 0/2000028 (file 000000010000000000000002)` from backup_label. */
export function parseBackupLabel(text: string): { startWal: string; startTime: string } | undefined {
  const wal = /START WAL LOCATION: \S+ \(file ([0-9A-F]{24})\)/.exec(text);
  const time = /START TIME: (.+)/.exec(text);
  return wal && time ? { startWal: wal[1]!, startTime: time[1]!.trim() } : undefined;
}

/**
 * pg_verifybackup of a plain-format backup: every file against the manifest's checksums and,
 * unless `parseWal` is false, the WAL it needs parsed with pg_waldump. Restores skip the WAL
 * parse: recovery replays (and CRC-checks) that very WAL moments later and fails loudly on it.
 */
export async function verifyBackup(inst: PgInstance, backup: BackupRecord, resource: string, storeDir: string, parseWal = true): Promise<void> {
  try {
    if (isLowLevelBackup(backup.path)) {
      await verifyLowLevelBackup(backup.path);
      return;
    }
    await runProgram(inst.bin("pg_verifybackup"), [...(parseWal ? [] : ["--no-parse-wal"]), backup.path], { runAs: inst.runAs, name: resource, timeoutMs: 30 * 60_000 });
  } catch (e) {
    const detail = isBerthError(e) ? String(e.params.detail ?? e.message) : (e as Error).message;
    throw new BerthError("BERTH_DATA_BACKUP_CORRUPT", { name: resource, backup: backup.id, detail, storeDir }, { cause: e });
  }
}

/** Takes, verifies and records one base backup of the running server. */
export async function takeBaseBackup(inst: PgInstance, store: BackupStore, ctx: BackupContext): Promise<BackupRecord> {
  store.sweepUnrecorded();
  const id = backupId("b", ctx.now());
  const dir = join(store.baseDir, id);
  const scope = { environment: ctx.environment, service: ctx.resource };
  const started = ctx.now();
  ctx.events.emit({ type: "backup:started", scope, data: { resource: ctx.resource, backup: id, kind: "base" } });
  try {
    if (!inst.running) throw new BerthError("BERTH_DATA_NOT_RUNNING", { kind: "postgres", name: ctx.resource });
    // Majors without pg_basebackup (the npm server builds): the low-level API (lowlevel-backup.ts).
    const low = inst.has("pg_basebackup") ? undefined : await lowLevelBaseBackup(inst, dir);
    if (!low) {
      await runProgram(inst.bin("pg_basebackup"), ["-D", dir, "-X", "stream", "-c", "fast", "-h", inst.socketDir, "-p", String(inst.port), "-U", "postgres", "--no-password"], {
        runAs: inst.runAs,
        name: ctx.resource,
        timeoutMs: 6 * 3_600_000,
      });
    }
    const label = parseBackupLabel(readFileSync(join(dir, "backup_label"), "utf8"));
    const endLsn = low ? low.endLsn : /"End-LSN": "([0-9A-F]+\/[0-9A-F]+)"/.exec(readFileSync(join(dir, "backup_manifest"), "utf8"))?.[1];
    const record: BackupRecord = {
      id,
      kind: "base",
      resource: ctx.resource,
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date(ctx.now()).toISOString(),
      sizeBytes: sizeOf(dir),
      path: dir,
      verified: true,
      ...(label ? { startWal: label.startWal } : {}),
      ...(endLsn ? { endLsn } : {}),
      ...(ctx.archiving === false ? { pitr: false } : {}),
    };
    await verifyBackup(inst, record, ctx.resource, store.root);
    store.save(record);
    ctx.events.emit({ type: "backup:completed", scope, data: { resource: ctx.resource, backup: id, kind: "base", sizeBytes: record.sizeBytes, ms: ctx.now() - started, verified: true } });
    return record;
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw backupFailed(e, id, "base", ctx, store.root);
  }
}

/** A logical dump of one database (custom format), checked readable with pg_restore --list. */
export async function takeDump(inst: PgInstance, store: BackupStore, database: string, ctx: BackupContext): Promise<BackupRecord> {
  store.sweepUnrecorded();
  const id = backupId("d", ctx.now());
  const path = join(store.dumpDir, `${id}.dump`);
  const scope = { environment: ctx.environment, service: ctx.resource };
  const started = ctx.now();
  ctx.events.emit({ type: "backup:started", scope, data: { resource: ctx.resource, backup: id, kind: "dump" } });
  try {
    const opts = { runAs: inst.runAs, name: ctx.resource, timeoutMs: 6 * 3_600_000 };
    if (!inst.has("pg_dump")) {
      // pg_dump refuses servers newer than itself, and the npm server builds carry none.
      throw new BerthError("BERTH_DATA_TOOL_UNAVAILABLE", { tool: "pg_dump", name: ctx.resource, major: inst.bins.major, from: inst.bins.from ?? inst.bins.binDir, suggestion: "Base backups (`berth db backup`) and point-in-time restores work on every major; a logical dump needs the distribution's package of this major (apt-get install postgresql-client-" + inst.bins.major + ")." });
    }
    await runProgram(inst.bin("pg_dump"), ["-h", inst.socketDir, "-p", String(inst.port), "-U", "postgres", "--no-password", "-Fc", "-f", path, database], opts);
    await runProgram(inst.bin("pg_restore"), ["--list", path], opts);
    const record: BackupRecord = { id, kind: "dump", resource: ctx.resource, startedAt: new Date(started).toISOString(), finishedAt: new Date(ctx.now()).toISOString(), sizeBytes: sizeOf(path), path, verified: true };
    store.save(record);
    ctx.events.emit({ type: "backup:completed", scope, data: { resource: ctx.resource, backup: id, kind: "dump", sizeBytes: record.sizeBytes, ms: ctx.now() - started, verified: true } });
    return record;
  } catch (e) {
    rmSync(path, { force: true });
    throw backupFailed(e, id, "dump", ctx, store.root);
  }
}

function backupFailed(e: unknown, id: string, kind: string, ctx: BackupContext, storeDir: string): BerthError {
  const err = isBerthError(e) && e.code !== "BERTH_DATA_PROCESS_FAILED" ? e : new BerthError("BERTH_DATA_BACKUP_FAILED", { name: ctx.resource, detail: isBerthError(e) ? e.message : String((e as Error).message ?? e), storeDir }, { cause: e });
  ctx.events.emit({ type: "backup:failed", scope: { environment: ctx.environment, service: ctx.resource }, data: { resource: ctx.resource, backup: id, kind, reason: err.message } });
  return err;
}

export interface ArchiveStatus {
  readonly lastArchivedWal: string | null;
  readonly lastArchivedAt: string | null;
  readonly failing: boolean;
  readonly lastFailedWal: string | null;
  /** Age of the oldest WAL not yet archived (0 when everything written is archived): the current RPO. */
  readonly unarchivedAgeMs: number;
}

/** Reads pg_stat_archiver; WAL written since the last archived segment counts toward the age. */
export async function archiveStatus(inst: PgInstance, nowMs: number): Promise<ArchiveStatus> {
  const [r] = await inst.query<{ wal: string | null; at: Date | null; failed_wal: string | null; failed_at: Date | null; pending: boolean; started: Date }>(
    `SELECT last_archived_wal AS wal, last_archived_time AS at, last_failed_wal AS failed_wal, last_failed_time AS failed_at, pg_postmaster_start_time() AS started,
       (last_archived_wal IS NULL OR last_archived_wal !~ '^[0-9A-F]{24}$'
        OR substr(pg_walfile_name(pg_current_wal_lsn()), 9) > substr(last_archived_wal, 9)) AS pending
     FROM pg_stat_archiver`,
  );
  if (!r) throw new BerthError("BERTH_INTERNAL", { detail: "pg_stat_archiver returned no row" });
  const failing = r.failed_at !== null && (r.at === null || r.failed_at > r.at);
  const since = (r.at ?? r.started).getTime();
  // Pending WAL is never "0 ms old": the archiver can finish the previous segment after `nowMs`
  // was taken and before this query ran, which put `since` in the future and read as "all
  // archived" while new rows were still only in the current segment.
  return { lastArchivedWal: r.wal, lastArchivedAt: r.at?.toISOString() ?? null, failing, lastFailedWal: r.failed_wal, unarchivedAgeMs: r.pending || failing ? Math.max(1, nowMs - since) : 0 };
}

/**
 * Makes everything written so far restorable from the archive and returns the segment that
 * proves it. First a commit stamped now (`txid_current()` assigns an id, so its commit is
 * logged): recovery to a time stops at the first commit after it, and without one a target
 * between the last commit and now would be "never reached". Then pg_switch_wal(), and a wait
 * until that very segment is in the archive directory. Watching pg_stat_archiver instead stalled
 * for a whole archive_timeout after a base backup, whose `.backup` file is archived last.
 */
export async function flushArchive(inst: PgInstance, walDir: string, resource: string, timeoutMs = 60_000): Promise<string> {
  await inst.query("SELECT txid_current()");
  const [r] = await inst.query<{ seg: string }>("SELECT pg_walfile_name(pg_switch_wal()) AS seg");
  const seg = r!.seg;
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (existsSync(join(walDir, seg))) return seg;
    await new Promise((res) => setTimeout(res, 25));
  }
  const [a] = await inst.query<{ wal: string | null; at: Date | null }>("SELECT last_failed_wal AS wal, last_failed_time AS at FROM pg_stat_archiver");
  const detail = a?.wal ? `archiving ${a.wal} last failed at ${a.at?.toISOString()}` : "the archiver has not reported a failure";
  throw new BerthError("BERTH_DATA_ARCHIVE_FAILED", { name: resource, segment: seg, seconds: Math.round(timeoutMs / 1000), detail, walDir, logPath: inst.logPath });
}
