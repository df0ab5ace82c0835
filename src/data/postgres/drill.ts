/**
 * Restore drills. A drill proves what a restore right now would give:
 *  1. the whole WAL chain of the current history — from the oldest kept base backup, across the
 *     timeline switches of earlier promotes, to the newest segment just archived — is there
 *     (names) and readable (pg_waldump checks every record's CRC);
 *  2. a verification point recorded now (row count + checksum of every table, so a table created
 *     an hour ago is covered) is restored from the newest base backup into a scratch instance;
 *  3. every table matches, and pg_amcheck finds every page and index sound.
 * It records RTO (restore start to verified) and RPO (how far the archive lagged the live server).
 * Any failure is loud: `drill:failed`, a failed drill record keeping the scratch server's log,
 * the backup marked failed when it was the backup that was damaged, and a thrown
 * BERTH_DATA_DRILL_FAILED. The scratch instance is always removed.
 */
import { copyFileSync, existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BerthError, isBerthError } from "../../core/errors.ts";
import type { EventSink } from "../../core/events.ts";
import { backupId } from "../files.ts";
import { runProgram, stopOrphan } from "../proc.ts";
import type { BackupRecord } from "../provider.ts";
import { chainOf, parseChain, requireChain } from "./archive.ts";
import { archiveStatus, flushArchive } from "./backup.ts";
import type { PgInstance } from "./instance.ts";
import { checkIntegrity } from "./integrity.ts";
import { ancestry, planRestore, type RestorePlan, type StoreView } from "./lineage.ts";
import { compareTables, tableChecksums } from "./points.ts";
import type { PgServer } from "./server.ts";
import type { BackupStore, DrillRecord, VerificationPoint } from "./store.ts";

export interface DrillContext {
  readonly resource: string;
  readonly environment: string;
  readonly live: PgInstance;
  readonly server: PgServer;
  readonly scratchRoot: string;
  readonly databases: readonly string[];
  readonly events: EventSink;
  readonly now: () => number;
  /** Records a verification point on the live server now (the caller holds the lock). */
  readonly recordPoint: () => Promise<VerificationPoint>;
  /** Replays a plan into a new instance at `dir` (provider.ts). */
  readonly replay: (plan: RestorePlan, stores: ReadonlyMap<string, BackupStore>, dir: string) => Promise<PgInstance>;
  /** Turns a failed replay into its cause (damaged backup, WAL gap). */
  readonly explain: (e: unknown, plan: RestorePlan, stores: ReadonlyMap<string, BackupStore>, text: string) => unknown;
}

/**
 * The plan whose chain covers the current history's whole window: the oldest verified base
 * backup on the line of stores leading to the live one (before each branch point). Pure.
 */
export function windowPlan(stores: readonly StoreView[], current: string): RestorePlan | undefined {
  const live = stores.find((s) => s.meta.instance === current);
  if (!live) return undefined;
  const line = ancestry(stores, live);
  let found: { backup: BackupRecord; at: number } | undefined;
  let cut = Number.POSITIVE_INFINITY;
  for (const [i, s] of line.entries()) {
    if (i > 0) cut = Math.min(cut, Date.parse(line[i - 1]!.meta.parent!.branchAt));
    const oldest = s.backups.filter((b) => b.kind === "base" && b.verified && b.pitr !== false && Date.parse(b.finishedAt) <= cut).sort((a, b) => a.finishedAt.localeCompare(b.finishedAt))[0];
    if (oldest) found = { backup: oldest, at: i };
  }
  if (!found) return undefined;
  return { backup: found.backup, backupStore: line[found.at]!.meta.instance, chain: line.slice(0, found.at + 1).map((s) => s.meta.instance), stop: { kind: "latest" }, timeline: live.meta.timeline ?? "latest" };
}

/**
 * Stops and removes scratch servers a killed daemon left behind (they run in their own process
 * group, so they outlive it). Drills hold the server's lock: none of them is in progress.
 */
export async function sweepScratch(root: string): Promise<string[]> {
  if (!existsSync(root)) return [];
  const gone = readdirSync(root);
  for (const f of gone) {
    const path = join(root, f);
    if (!f.endsWith(".log")) await stopOrphan(join(path, "data", "postmaster.pid"), "postgres", "SIGQUIT", 5000).catch(() => false);
    rmSync(path, { recursive: true, force: true });
  }
  return gone.filter((f) => !f.endsWith(".log"));
}

export async function runDrill(ctx: DrillContext): Promise<DrillRecord> {
  await sweepScratch(ctx.scratchRoot);
  const id = backupId("drill", ctx.now());
  const scope = { environment: ctx.environment, service: ctx.resource };
  const store = ctx.server.store();
  const dir = join(ctx.scratchRoot, id);
  let target = "(none)";
  let backup = "";
  let scratch: PgInstance | undefined;
  let walChecked: DrillRecord["walChecked"];
  const keepLog = (): string | undefined => {
    const logPath = store.drillLogPath(id);
    for (const src of [scratch?.logPath, `${dir}.log`]) {
      if (src && existsSync(src)) {
        copyFileSync(src, logPath);
        return logPath;
      }
    }
    return undefined;
  };
  const fail = (e: unknown) => {
    const detail = isBerthError(e) ? `${e.code}: ${e.message}` : (e as Error).message;
    const logPath = keepLog();
    ctx.events.emit({ type: "drill:failed", scope, data: { resource: ctx.resource, drill: id, target, reason: logPath ? `${detail} (scratch log kept: ${logPath})` : detail } });
    store.saveDrill({ id, at: new Date(ctx.now()).toISOString(), target, backup, ok: false, rtoMs: 0, rpoMs: 0, tables: 0, detail, ...(walChecked ? { walChecked } : {}), ...(logPath ? { logPath } : {}) });
    return new BerthError("BERTH_DATA_DRILL_FAILED", { name: ctx.resource, detail, storeDir: store.root }, { cause: e });
  };
  try {
    ctx.events.emit({ type: "drill:started", scope, data: { resource: ctx.resource, drill: id, target: "a point recorded now" } });
    const pitr = ctx.server.pitr;
    const rpoMs = pitr ? (await archiveStatus(ctx.live, ctx.now())).unarchivedAgeMs : 0;
    const point = pitr ? await ctx.recordPoint() : undefined;
    const liveLast = pitr ? await flushArchive(ctx.live, store.walDir, ctx.resource) : undefined;
    const views = ctx.server.views();
    const stores = ctx.server.stores();
    // Every segment of the window, by name and by content, up to the one just archived.
    const window = pitr ? windowPlan(views, ctx.server.state.live!) : undefined;
    if (window?.backup.startWal) {
      const chain = chainOf(window, stores, { kind: "all", liveLast });
      const checked = requireChain(chain, ctx.resource, "the recovery window");
      walChecked = { first: checked.first, last: checked.last ?? checked.first, segments: checked.count };
      await parseChain(chain, ctx.live, ctx.resource, checked.last);
    }
    const newest = views.flatMap((v) => v.backups.filter((b) => b.verified)).sort((a, b) => a.finishedAt.localeCompare(b.finishedAt)).at(-1);
    const plan = point ? planRestore({ kind: "point", name: point.name }, views, ctx.server.state.live, ctx.now()) : newest ? planRestore({ kind: "backup", backup: newest.id }, views, ctx.server.state.live, ctx.now()) : { error: "there is no verified base backup yet" };
    if ("error" in plan) throw new BerthError("BERTH_DATA_RESTORE_TARGET_INVALID", { name: ctx.resource, target: point ? `point ${point.name}` : "the newest backup", detail: plan.error });
    target = point ? `point ${point.name} (${point.at})` : `backup ${plan.backup.id}`;
    backup = plan.backup.id;
    const t0 = Date.now();
    scratch = await ctx.replay(plan, stores, dir).catch((e) => {
      throw ctx.explain(e, plan, stores, target);
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
    if (point) {
      const diffs = compareTables(point.tables, actual);
      if (diffs.length > 0) throw new Error(`restored data differs from point ${point.name}: ${diffs.slice(0, 5).join("; ")}`);
    }
    const integrity = await checkIntegrity(scratch, ctx.resource);
    const rtoMs = Date.now() - t0;
    const tables = Object.keys(actual).length;
    const wal = walChecked ? `; WAL ${walChecked.first}..${walChecked.last} (${walChecked.segments} segments) complete and readable` : "";
    const detail = !point ? `${integrity} (no WAL archive: pitr is off, no point to compare)${wal}` : tables === 0 ? `nothing to compare yet: no user tables; ${integrity}${wal}` : `${integrity}; ${tables} tables: row counts and checksums match${wal}`;
    const record: DrillRecord = { id, at: new Date(ctx.now()).toISOString(), target, backup, ok: true, rtoMs, rpoMs, tables, detail, ...(walChecked ? { walChecked } : {}) };
    store.saveDrill(record);
    ctx.events.emit({ type: "drill:passed", scope, data: { resource: ctx.resource, drill: id, target, rtoMs, rpoMs, tables } });
    return record;
  } catch (e) {
    throw fail(e);
  } finally {
    await scratch?.destroy().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}.log`, { force: true });
  }
}
