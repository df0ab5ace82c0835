/**
 * Restores: the plan across the database's stores (lineage.ts), the WAL chain checked before
 * and after replay (archive.ts), the replay into a new instance (restore.ts), and promotion of
 * the result with its place in the database's history. Called by the provider under its lock.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { BerthError, isBerthError } from "../../core/errors.ts";
import type { EventSink } from "../../core/events.ts";
import { newId } from "../../core/ids.ts";
import type { RunAs } from "../proc.ts";
import type { RestoreResult, RestoreTarget } from "../provider.ts";
import { type ChainEnd, chainOf, requireChain, requireReplayedTo } from "./archive.ts";
import { type BackupContext, flushArchive, takeBaseBackup } from "./backup.ts";
import type { PgInstance } from "./instance.ts";
import { planRestore, type RestorePlan } from "./lineage.ts";
import { describeTarget, restoreInto, TARGET_NOT_REACHED } from "./restore.ts";
import type { PgServer } from "./server.ts";
import type { BackupStore } from "./store.ts";
import { checkChain } from "./wal.ts";

export interface RestoreOptions {
  readonly mode: "promote" | "keep";
  /** Restore from the archive alone: the live server need not run (a lost data directory). */
  readonly fromArchive?: boolean;
  /** The store `latest` means (default: the live server's); disaster recovery names the imported one. */
  readonly current?: string;
  /**
   * The new server's id, fixed by the caller (an operation) so that a repeated attempt finds its
   * own work: already promoted or kept → done; half-built → discarded and built again.
   */
  readonly id?: string;
}

/** A restore attempt that already finished (a resumed operation): its result, or undefined. */
function alreadyDone(c: OpContext, id: string, target: RestoreTarget): RestoreResult | undefined {
  const inst = c.server.instance(id);
  if (c.server.state.live === id) {
    const meta = c.server.store(id).meta();
    return { restore: id, target, backup: meta.restoredFrom ?? "", port: c.server.state.port, dataDir: inst.dataDir, mode: "promote", ms: 0 };
  }
  const kept = c.server.state.kept.find((k) => k.restore === id);
  return kept ? { restore: id, target, backup: "", port: kept.port, dataDir: inst.dataDir, mode: "keep", ms: 0 } : undefined;
}

/**
 * Removes what an interrupted attempt of restore `id` left — its instance (stopped through its
 * pid file: servers outlive a killed daemon) and its store — unless it finished (live or kept).
 * The live server is never touched. Returns whether anything was abandoned.
 */
export async function abandonAttempt(c: OpContext, id: string): Promise<boolean> {
  if (c.server.state.live === id || c.server.state.kept.some((k) => k.restore === id)) return false;
  await c.server.instance(id).destroy();
  rmSync(c.server.store(id).root, { recursive: true, force: true });
  return true;
}

export interface OpContext {
  readonly server: PgServer;
  readonly rootDir: string;
  readonly events: EventSink;
  readonly now: () => number;
  readonly runAs: RunAs | undefined;
  backupContext(name: string): BackupContext;
}

export async function restoreOp(c: OpContext, name: string, target: RestoreTarget, opts: RestoreOptions): Promise<RestoreResult> {
  const live = c.server.live?.running ? c.server.live : undefined;
  if (!live && !opts.fromArchive) throw new BerthError("BERTH_DATA_NOT_RUNNING", { kind: "postgres", name });
  const restore = opts.id ?? newId("rst").replace("rst_", "rst-");
  if (opts.id) {
    const done = alreadyDone(c, opts.id, target);
    if (done) return done;
    await abandonAttempt(c, opts.id);
  }
  const text = describeTarget(target);
  const scope = c.server.scope(name);
  c.events.emit({ type: "restore:started", scope, data: { resource: name, restore, target: text } });
  const t0 = Date.now();
  const startedAt = c.now();
  let newStore: BackupStore | undefined;
  try {
    let liveLast: string | undefined;
    if (live && c.server.pitr && !opts.fromArchive) liveLast = await flushArchive(live, c.server.store().walDir, name);
    const plan = planRestore(target, c.server.views(), opts.current ?? c.server.state.live, c.now());
    if ("error" in plan) throw new BerthError("BERTH_DATA_RESTORE_TARGET_INVALID", { name, target: text, detail: plan.error });
    const stores = c.server.stores();
    const end: ChainEnd | undefined =
      target.kind === "latest" ? { kind: "all", liveLast } : plan.stop.kind === "time" ? { kind: "before", atMs: Date.parse(plan.stop.at) } : undefined;
    const chain = end && plan.backup.startWal ? chainOf(plan, stores, end) : undefined;
    if (chain) requireChain(chain, name, `restoring to ${text}`);
    newStore = opts.mode === "promote" ? c.server.store(restore) : undefined;
    newStore?.prepare(c.runAs);
    const start = newStore ? c.server.startSettings(newStore) : { ...c.server.startSettings(c.server.store()), archive: undefined };
    // Only its binaries and OS user are used: the lost (or never created) server's will do.
    const template = live ?? c.server.instance(c.server.state.live ?? "template");
    const inst = await replayPlan(c, name, plan, stores, template, join(c.rootDir, "instances", restore), start).catch((e) => {
      throw explainFailure(c, e, name, plan, stores, text);
    });
    if (chain && target.kind === "latest") {
      try {
        requireReplayedTo(chain, inst, name);
      } catch (e) {
        await inst.destroy();
        throw e;
      }
    }
    inst.settle(start);
    if (newStore) {
      await promoteRestored(c, name, inst, newStore, plan, target, startedAt);
    } else {
      c.server.kept.set(restore, inst);
      c.server.state.kept.push({ restore, port: inst.port });
      c.server.save();
    }
    const ms = Date.now() - t0;
    c.events.emit({ type: "restore:completed", scope, data: { resource: name, restore, target: text, port: inst.port, ms, promoted: opts.mode === "promote" } });
    return { restore, target, backup: plan.backup.id, port: inst.port, dataDir: inst.dataDir, mode: opts.mode, ms };
  } catch (e) {
    if (newStore && c.server.state.live !== restore) rmSync(newStore.root, { recursive: true, force: true });
    c.events.emit({ type: "restore:failed", scope, data: { resource: name, restore, target: text, reason: isBerthError(e) ? `${e.code}: ${e.message}` : (e as Error).message } });
    throw e;
  }
}

/** Replays `plan` into a new instance at `dir`, reading WAL from the chain's stores first. */
export function replayPlan(c: OpContext, name: string, plan: RestorePlan, stores: ReadonlyMap<string, BackupStore>, template: PgInstance, dir: string, start: ReturnType<PgServer["startSettings"]>): Promise<PgInstance> {
  const walDirs = [...plan.chain, ...[...stores.keys()].filter((k) => !plan.chain.includes(k))].map((id) => stores.get(id)!.walDir);
  return restoreInto({
    resource: name,
    dir,
    storeDir: stores.get(plan.backupStore)!.root,
    backup: plan.backup,
    recovery: { script: c.server.restoreScript, walDirs, stop: plan.stop, timeline: plan.timeline },
    template,
    start,
  });
}

/** Turns a failed replay into its cause: a damaged backup (marked), or a gap in the WAL chain. */
export function explainFailure(c: OpContext, e: unknown, name: string, plan: RestorePlan, stores: ReadonlyMap<string, BackupStore>, text: string): unknown {
  if (!isBerthError(e)) return e;
  // Damage, not a file Berth cannot read (ownership, a missing mount): only damage marks the backup.
  if (e.code === "BERTH_DATA_BACKUP_CORRUPT" && !/Permission denied|No such file or directory/.test(String(e.params.detail))) {
    stores.get(plan.backupStore)?.markFailed(plan.backup.id, String(e.params.detail ?? e.message).slice(0, 300));
    c.events.emit({ type: "backup:failed", scope: c.server.scope(name), data: { resource: name, backup: plan.backup.id, kind: "base", reason: `failed verification when restored: ${e.message}` } });
    return e;
  }
  if (e.code === "BERTH_DATA_RESTORE_FAILED" && TARGET_NOT_REACHED.test(String(e.params.detail)) && plan.backup.startWal) {
    const chain = chainOf(plan, stores, { kind: "all" });
    const c = checkChain(chain.start, chain.hops, chain.segSize, chain.endNo);
    if (c.missing) return new BerthError("BERTH_DATA_WAL_GAP", { name, segment: c.missing, detail: `recovery to ${text} ran out of WAL there` }, { cause: e });
    return new BerthError("BERTH_DATA_RESTORE_TARGET_INVALID", { name, target: text, detail: `the archive ends at ${c.last ?? chain.start}, before the target` }, { cause: e });
  }
  return e;
}

/** The restored instance becomes live: its store records where its history branched off. */
async function promoteRestored(c: OpContext, name: string, inst: PgInstance, store: BackupStore, plan: RestorePlan, target: RestoreTarget, startedAt: number): Promise<void> {
  const [tl] = await inst.query<{ tli: string; lsn: string }>("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) AS tli, pg_current_wal_lsn()::text AS lsn");
  // Restores keep the cluster's identity; after a disaster recovery this machine adopts it.
  c.server.state.systemId = (await inst.systemId()) ?? c.server.state.systemId;
  const branchAt =
    plan.stop.kind === "time" ? plan.stop.at : plan.stop.kind === "immediate" ? plan.backup.finishedAt : target.kind === "point" ? (c.server.views().flatMap((v) => v.points).find((p) => p.name === target.name)?.at ?? new Date(startedAt).toISOString()) : new Date(startedAt).toISOString();
  store.saveMeta({
    instance: store.instance,
    liveFrom: new Date(c.now()).toISOString(),
    timeline: Number.parseInt(tl!.tli, 16),
    ...(c.server.state.systemId ? { systemId: c.server.state.systemId } : {}),
    parent: { instance: plan.chain[0]!, branchAt, branchLsn: tl!.lsn },
    restoredFrom: plan.backup.id,
  });
  c.server.promote(inst, name);
  await c.server.applyAccess(inst);
  if (c.server.state.databases.some((d) => d.backups !== false)) await takeBaseBackup(inst, store, c.backupContext(name)).catch(() => {}); // loud on its own (backup:failed)
}

/**
 * `db.schema.table` of every user table holding at least one row, across the managed databases:
 * what disaster recovery would throw away. Empty tables (a fresh deploy's migrations) are not data.
 */
export async function tablesWithRows(c: OpContext, inst: PgInstance): Promise<string[]> {
  const out: string[] = [];
  for (const d of c.server.state.databases) {
    const client = await inst.client(d.database).catch(() => undefined);
    if (!client) continue;
    try {
      const tables = await client.query<{ q: string; t: string }>(
        "SELECT format('%I.%I', n.nspname, c.relname) AS q, n.nspname || '.' || c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'",
      );
      for (const t of tables.rows) {
        if ((await client.query(`SELECT 1 FROM ${t.q} LIMIT 1`)).rowCount) out.push(`${d.database}.${t.t}`);
      }
    } finally {
      await client.end().catch(() => {});
    }
  }
  return out;
}
