/**
 * Which base backups to keep: the newest per day / ISO week / month for the configured counts
 * (grandfather-father-son), the newest backup of all, and the backup that anchors the start of
 * the point-in-time-recovery window (the newest one finished at or before `now - pitrWindow`);
 * WAL older than the oldest kept backup's start segment goes too. Pure: time is data.
 */
import type { KeepCounts } from "./input.ts";
import { byLiveFrom, planRestore, type StoreView } from "./lineage.ts";

export interface RetentionBackup {
  readonly id: string;
  readonly finishedAt: string;
  readonly startWal?: string;
}

export interface RetentionPolicy {
  readonly keep: KeepCounts;
  readonly pitrWindowMs: number;
}

export interface RetentionPlan {
  /** Kept ids with why, newest first. */
  readonly keep: readonly { readonly id: string; readonly reasons: readonly string[] }[];
  readonly remove: readonly string[];
  /** Archived WAL segments strictly before this name can be deleted; undefined = keep all WAL. */
  readonly walBefore: string | undefined;
  /** The earliest moment a restore can reach after applying the plan. */
  readonly restorableFrom: string | undefined;
}

const isoWeek = (d: Date): string => {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${String(week).padStart(2, "0")}`;
};

const BUCKETS: readonly { key: keyof KeepCounts; of: (d: Date) => string }[] = [
  { key: "daily", of: (d) => d.toISOString().slice(0, 10) },
  { key: "weekly", of: isoWeek },
  { key: "monthly", of: (d) => d.toISOString().slice(0, 7) },
];

export function planRetention(backups: readonly RetentionBackup[], policy: RetentionPolicy, nowMs: number): RetentionPlan {
  const newestFirst = [...backups].filter((b) => Date.parse(b.finishedAt) <= nowMs).sort((a, b) => b.finishedAt.localeCompare(a.finishedAt));
  const reasons = new Map<string, string[]>();
  const add = (id: string, why: string) => reasons.set(id, [...(reasons.get(id) ?? []), why]);
  if (newestFirst[0]) add(newestFirst[0].id, "newest");
  for (const { key, of } of BUCKETS) {
    const seen = new Set<string>();
    for (const b of newestFirst) {
      const bucket = of(new Date(b.finishedAt));
      if (seen.has(bucket) || seen.size >= policy.keep[key]) continue;
      seen.add(bucket);
      add(b.id, `${key} ${bucket}`);
    }
  }
  const windowStart = nowMs - policy.pitrWindowMs;
  const anchor = newestFirst.find((b) => Date.parse(b.finishedAt) <= windowStart) ?? newestFirst.at(-1);
  if (anchor && policy.pitrWindowMs > 0) add(anchor.id, "pitr window start");
  const kept = newestFirst.filter((b) => reasons.has(b.id));
  const oldestKept = kept.at(-1);
  return {
    keep: kept.map((b) => ({ id: b.id, reasons: reasons.get(b.id)! })),
    remove: backups.filter((b) => !reasons.has(b.id) && Date.parse(b.finishedAt) <= nowMs).map((b) => b.id),
    walBefore: oldestKept?.startWal,
    restorableFrom: oldestKept?.finishedAt,
  };
}

/** Segments of the same naming scheme that sort before `before` (timeline-independent). */
export function walToRemove(segments: readonly string[], before: string | undefined): string[] {
  if (!before) return [];
  return segments.filter((s) => s.slice(8) < before.slice(8));
}

/** One server holds several databases: keep what the most demanding one asks for. */
export function widestPolicy(policies: readonly RetentionPolicy[]): RetentionPolicy {
  const max = (k: keyof KeepCounts) => Math.max(0, ...policies.map((p) => p.keep[k]));
  return { keep: { daily: max("daily"), weekly: max("weekly"), monthly: max("monthly") }, pitrWindowMs: Math.max(0, ...policies.map((p) => p.pitrWindowMs)) };
}

/** What pruning every store of a database removes: backups by id, and WAL before a segment per store. */
export interface StorePrunePlan {
  readonly keep: RetentionPlan["keep"];
  readonly remove: readonly { readonly store: string; readonly id: string }[];
  /** Per store: segments strictly before this name go; `"all"` = the store needs no WAL any more. */
  readonly walBefore: ReadonlyMap<string, string | "all">;
  readonly restorableFrom: string | undefined;
}

/**
 * Retention across the stores of every server a database has had (lineage.ts): the same
 * daily/weekly/monthly counts over all base backups together, plus, for each server that was
 * live inside the PITR window, the backup a restore to the start of its stretch would use (it
 * may sit in an ancestor store, before the branch point). WAL is kept from the oldest kept
 * backup of a store, and whole in a store that a kept backup's chain passes through.
 */
export function planStorePrune(stores: readonly StoreView[], policy: RetentionPolicy, nowMs: number): StorePrunePlan {
  const all = stores.flatMap((s) => s.backups.filter((b) => b.kind === "base").map((b) => ({ ...b, store: s.meta.instance })));
  const base = planRetention(all, policy, nowMs);
  const reasons = new Map(base.keep.map((k) => [k.id, [...k.reasons]]));
  const throughStores = new Set<string>();
  if (policy.pitrWindowMs > 0) {
    const windowStart = nowMs - policy.pitrWindowMs;
    const ordered = byLiveFrom(stores);
    for (const [i, s] of ordered.entries()) {
      const until = ordered[i + 1] ? Date.parse(ordered[i + 1]!.meta.liveFrom) : nowMs;
      if (until < windowStart) continue;
      const at = Math.max(Date.parse(s.meta.liveFrom), windowStart);
      const plan = planRestore({ kind: "time", at: new Date(Math.min(at, nowMs)).toISOString() }, stores, undefined, nowMs);
      if ("error" in plan) continue;
      reasons.set(plan.backup.id, [...(reasons.get(plan.backup.id) ?? []), `pitr window (${s.meta.instance})`]);
      for (const id of plan.chain.slice(0, -1)) throughStores.add(id);
    }
  }
  const kept = all.filter((b) => reasons.has(b.id));
  const walBefore = new Map<string, string | "all">();
  for (const s of stores) {
    const own = kept.filter((b) => b.store === s.meta.instance && b.startWal).map((b) => b.startWal!);
    if (throughStores.has(s.meta.instance)) continue; // every segment may be replayed
    if (own.length > 0) walBefore.set(s.meta.instance, own.sort((a, b) => a.slice(8).localeCompare(b.slice(8)))[0]!);
    else walBefore.set(s.meta.instance, "all");
  }
  const oldest = kept.map((b) => b.finishedAt).sort()[0];
  return {
    keep: kept.sort((a, b) => b.finishedAt.localeCompare(a.finishedAt)).map((b) => ({ id: b.id, reasons: reasons.get(b.id)! })),
    remove: all.filter((b) => !reasons.has(b.id) && Date.parse(b.finishedAt) <= nowMs).map((b) => ({ store: b.store, id: b.id })),
    walBefore,
    restorableFrom: oldest,
  };
}
