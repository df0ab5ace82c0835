/**
 * Restore drills: pick a random recent verification point, restore it into a scratch instance,
 * check every page and index (pg_amcheck), compare row counts and checksums with the values
 * recorded at that point, and measure RTO (restore start to verified) and RPO (how far the WAL
 * archive lags the live server right now). Any failure is loud: `drill:failed` plus a thrown
 * BERTH_DATA_DRILL_FAILED. The scratch instance is always removed.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { BerthError, isBerthError } from "../../core/errors.ts";
import type { EventSink } from "../../core/events.ts";
import type { BackupRecord } from "../provider.ts";
import { runProgram } from "../proc.ts";
import { backupId } from "../files.ts";
import { archiveStatus, flushArchive } from "./backup.ts";
import type { PgInstance } from "./instance.ts";
import { compareTables, tableChecksums } from "./points.ts";
import { planRestore, restoreInto } from "./restore.ts";
import type { BackupStore, DrillRecord, VerificationPoint } from "./store.ts";

export interface DrillContext {
  readonly resource: string;
  readonly environment: string;
  readonly live: PgInstance;
  readonly store: BackupStore;
  readonly scratchRoot: string;
  readonly databases: readonly string[];
  readonly events: EventSink;
  readonly now: () => number;
  readonly random: () => number;
  /** Only points newer than this are candidates ("recent"); default 24 h. */
  readonly recentMs?: number;
  /** Records a fresh point when none is recent enough. */
  readonly recordPoint: () => Promise<VerificationPoint>;
}

/** Chooses the drill's point among recent ones that a verified base backup precedes. Pure. */
export function pickDrillPoint(points: readonly VerificationPoint[], backups: readonly BackupRecord[], nowMs: number, recentMs: number, random: () => number): VerificationPoint | undefined {
  const firstBase = backups.filter((b) => b.kind === "base" && b.verified).map((b) => Date.parse(b.finishedAt)).sort((a, b) => a - b)[0];
  if (firstBase === undefined) return undefined;
  const candidates = points.filter((p) => Date.parse(p.at) >= firstBase && Date.parse(p.at) >= nowMs - recentMs);
  return candidates[Math.min(candidates.length - 1, Math.floor(random() * candidates.length))];
}

export async function runDrill(ctx: DrillContext): Promise<DrillRecord> {
  const id = backupId("drill", ctx.now());
  const scope = { environment: ctx.environment, service: ctx.resource };
  let target = "(none)";
  let scratch: PgInstance | undefined;
  const fail = (e: unknown) => {
    const detail = isBerthError(e) ? `${e.code}: ${e.message}` : (e as Error).message;
    ctx.events.emit({ type: "drill:failed", scope, data: { resource: ctx.resource, drill: id, target, reason: detail } });
    ctx.store.saveDrill({ id, at: new Date(ctx.now()).toISOString(), target, backup: "", ok: false, rtoMs: 0, rpoMs: 0, tables: 0, detail });
    return new BerthError("BERTH_DATA_DRILL_FAILED", { name: ctx.resource, detail, storeDir: ctx.store.root }, { cause: e });
  };
  try {
    const backups = ctx.store.list();
    let point = pickDrillPoint(ctx.store.points(), backups, ctx.now(), ctx.recentMs ?? 86_400_000, ctx.random);
    if (!point) point = await ctx.recordPoint();
    target = `point ${point.name} (${point.at})`;
    ctx.events.emit({ type: "drill:started", scope, data: { resource: ctx.resource, drill: id, target } });
    const rpoMs = (await archiveStatus(ctx.live, ctx.now())).unarchivedAgeMs;
    await flushArchive(ctx.live, ctx.resource);
    const plan = planRestore({ kind: "point", name: point.name }, backups, ctx.store.points(), ctx.now());
    if ("error" in plan) throw new BerthError("BERTH_DATA_RESTORE_TARGET_INVALID", { name: ctx.resource, target, detail: plan.error });
    const t0 = Date.now();
    scratch = await restoreInto({
      resource: ctx.resource,
      dir: join(ctx.scratchRoot, id),
      store: ctx.store,
      backup: plan.backup,
      stop: plan.stop,
      template: ctx.live,
      start: { hba: [], allowList: [] },
    });
    const actual: Record<string, { rows: number; checksum: string }> = {};
    for (const db of ctx.databases) {
      const c = await scratch.client(db);
      try {
        Object.assign(actual, await tableChecksums(c, db, false));
      } finally {
        await c.end().catch(() => {});
      }
    }
    const diffs = compareTables(point.tables, actual);
    if (diffs.length > 0) throw new Error(`restored data differs from point ${point.name}: ${diffs.slice(0, 5).join("; ")}`);
    await runProgram(scratch.bin("pg_amcheck"), ["--all", "--install-missing", "--heapallindexed", "-h", scratch.socketDir, "-p", String(scratch.port), "-U", "postgres", "--no-password"], {
      runAs: scratch.runAs,
      name: ctx.resource,
      timeoutMs: 60 * 60_000,
    });
    const rtoMs = Date.now() - t0;
    const record: DrillRecord = { id, at: new Date(ctx.now()).toISOString(), target, backup: plan.backup.id, ok: true, rtoMs, rpoMs, tables: Object.keys(actual).length, detail: "pg_amcheck clean; row counts and checksums match" };
    ctx.store.saveDrill(record);
    ctx.events.emit({ type: "drill:passed", scope, data: { resource: ctx.resource, drill: id, target, rtoMs, rpoMs, tables: record.tables } });
    return record;
  } catch (e) {
    throw fail(e);
  } finally {
    await scratch?.destroy().catch(() => {});
    rmSync(join(ctx.scratchRoot, id), { recursive: true, force: true });
  }
}
