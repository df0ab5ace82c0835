/**
 * One timeline across promotes. Every server that has been a database's live server archived
 * into its own store (`<storeDir>/<instance>/`); a promoted restore starts a new store whose
 * `parent` is the store it was restored from. Together they are one history: the server that
 * was live at a wall-clock second S is the store with the latest `liveFrom` <= S, and a restore
 * to S replays from the newest base backup before S in that store or, through the branch points,
 * in its ancestors. Pure: stores, backups and points are data.
 */
import type { BackupRecord, RestoreTarget } from "../provider.ts";
import type { RecoveryStop } from "./config.ts";
import type { VerificationPoint } from "./store.ts";

/** `store.json` beside a store's backups: written when its server becomes live. */
export interface StoreMeta {
  readonly instance: string;
  /** When this server became the live one (created, or promoted after a restore). */
  readonly liveFrom: string;
  /** The timeline it writes (from its first segment after promotion); absent for old stores. */
  readonly timeline?: number;
  /** The cluster's system identifier (restores keep it; a fresh initdb does not). */
  readonly systemId?: string;
  /** The store this server was restored from, and where its history branched off. */
  readonly parent?: { readonly instance: string; readonly branchAt: string; readonly branchLsn?: string };
  /** When another server replaced it. */
  readonly retiredAt?: string;
  /** The base backup a promoted restore started from. */
  readonly restoredFrom?: string;
}

export interface StoreView {
  readonly meta: StoreMeta;
  /** Base backups (any state; planning uses only verified ones). */
  readonly backups: readonly BackupRecord[];
  readonly points: readonly VerificationPoint[];
}

export interface RestorePlan {
  readonly backup: BackupRecord;
  /** Instance of the store holding the backup. */
  readonly backupStore: string;
  /** Stores to read WAL from, the target's first, then its ancestors down to the backup's. */
  readonly chain: readonly string[];
  readonly stop: RecoveryStop;
  /** recovery_target_timeline: the timeline that was live at the target. */
  readonly timeline: number | "latest";
}

const ms = (iso: string) => Date.parse(iso);
const usable = (b: BackupRecord) => b.kind === "base" && b.verified;
/** Usable as the start of a replay forward in time: taken while the WAL archive was on. */
const replayable = (b: BackupRecord) => usable(b) && b.pitr !== false;

/** Stores oldest first, by when they became live. */
export function byLiveFrom(stores: readonly StoreView[]): StoreView[] {
  return [...stores].sort((a, b) => a.meta.liveFrom.localeCompare(b.meta.liveFrom));
}

/** The store whose server was live at `atMs`. */
export function storeAt(stores: readonly StoreView[], atMs: number): StoreView | undefined {
  return byLiveFrom(stores)
    .filter((s) => ms(s.meta.liveFrom) <= atMs)
    .at(-1);
}

/** `store`, its parent, grandparent... (stops at a missing or looping parent). */
export function ancestry(stores: readonly StoreView[], store: StoreView): StoreView[] {
  const out = [store];
  const seen = new Set([store.meta.instance]);
  for (let s = store; s.meta.parent; ) {
    const p = stores.find((x) => x.meta.instance === s.meta.parent!.instance);
    if (!p || seen.has(p.meta.instance)) break;
    out.push(p);
    seen.add(p.meta.instance);
    s = p;
  }
  return out;
}

/**
 * The newest verified base backup from which `store`'s history at `cutMs` can be replayed: in the
 * store itself (finished by `cutMs`), else in an ancestor, finished before the branch point.
 */
function backupFor(stores: readonly StoreView[], store: StoreView, cutMs: number): { backup: BackupRecord; chain: string[] } | undefined {
  const line = ancestry(stores, store);
  let cut = cutMs;
  for (const [i, s] of line.entries()) {
    if (i > 0) {
      const branch = line[i - 1]!.meta.parent!;
      cut = Math.min(cut, ms(branch.branchAt));
    }
    const b = s.backups
      .filter((x) => replayable(x) && ms(x.finishedAt) <= cut)
      .sort((x, y) => x.finishedAt.localeCompare(y.finishedAt))
      .at(-1);
    if (b) return { backup: b, chain: line.slice(0, i + 1).map((x) => x.meta.instance) };
  }
  return undefined;
}

/** The earliest moment any restore can reach. */
export function restorableFrom(stores: readonly StoreView[]): string | undefined {
  return stores
    .flatMap((s) => s.backups.filter(usable))
    .map((b) => b.finishedAt)
    .sort()[0];
}

/**
 * Picks the store, base backup, WAL chain and recovery stop for a target. `current` is the live
 * store (the one `latest` means).
 */
export function planRestore(target: RestoreTarget, stores: readonly StoreView[], current: string | undefined, nowMs: number): RestorePlan | { error: string } {
  if (!stores.some((s) => s.backups.some(usable))) return { error: "there is no verified base backup yet" };
  if (target.kind !== "backup" && !stores.some((s) => s.backups.some(replayable))) {
    return { error: "every base backup was taken while the WAL archive was off (pitr: false): restore one by its id (`berth db backups`)" };
  }
  const plan = (store: StoreView | undefined, cutMs: number, stop: RecoveryStop, what: string): RestorePlan | { error: string } => {
    const found = store && backupFor(stores, store, cutMs);
    if (!found) return { error: `${what} is before the earliest backup (${restorableFrom(stores)})` };
    return { backup: found.backup, backupStore: found.chain.at(-1)!, chain: found.chain, stop, timeline: store!.meta.timeline ?? "latest" };
  };
  switch (target.kind) {
    case "latest": {
      const store = stores.find((s) => s.meta.instance === current) ?? byLiveFrom(stores).at(-1);
      return plan(store, nowMs, { kind: "latest" }, "latest");
    }
    case "backup": {
      const store = stores.find((s) => s.backups.some((b) => b.id === target.backup));
      const b = store?.backups.find((x) => x.id === target.backup);
      if (!store || !b) return { error: `no base backup '${target.backup}'` };
      if (!b.verified) return { error: `backup ${b.id} failed verification${b.failure ? ` (${b.failure})` : ""}: choose another one` };
      return { backup: b, backupStore: store.meta.instance, chain: [store.meta.instance], stop: { kind: "immediate" }, timeline: store.meta.timeline ?? "latest" };
    }
    case "time": {
      const at = ms(target.at);
      if (Number.isNaN(at)) return { error: "not a timestamp (use ISO 8601, e.g. 2026-01-22T04:15:00Z)" };
      if (at > nowMs) return { error: "the time is in the future" };
      return plan(storeAt(stores, at), at, { kind: "time", at: new Date(at).toISOString() }, "it");
    }
    case "point": {
      const store = stores.find((s) => s.points.some((p) => p.name === target.name));
      const p = store?.points.find((x) => x.name === target.name);
      if (!store || !p) return { error: `no verification point '${target.name}'` };
      return plan(store, ms(p.at), { kind: "point", name: p.name }, `point ${p.name}`);
    }
  }
}
