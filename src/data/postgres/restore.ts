/**
 * Point-in-time restore, always into a NEW instance directory: copy a verified base backup,
 * point restore_command at the WAL archive, set the recovery target, touch recovery.signal,
 * start, and wait for promotion. The live server is only ever asked to switch its WAL segment
 * out so the archive covers the target; its data directory is never touched.
 */
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BerthError, isBerthError } from "../../core/errors.ts";
import type { BackupRecord, RestoreTarget } from "../provider.ts";
import { logTail, runProgram } from "../proc.ts";
import { verifyBackup } from "./backup.ts";
import type { RecoveryStop } from "./config.ts";
import { writeOwned } from "../files.ts";
import { type InstanceStart, PgInstance } from "./instance.ts";
import type { BackupStore, VerificationPoint } from "./store.ts";

/** Text form of a target, for events and errors. */
export function describeTarget(t: RestoreTarget): string {
  if (t.kind === "time") return t.at;
  if (t.kind === "backup") return `backup ${t.backup}`;
  if (t.kind === "point") return `point ${t.name}`;
  return "latest";
}

/**
 * Picks the base backup and the recovery stop for a target. Pure: backups and points are data.
 * A time target needs the newest backup finished at or before it.
 */
export function planRestore(
  target: RestoreTarget,
  backups: readonly BackupRecord[],
  points: readonly VerificationPoint[],
  nowMs: number,
): { backup: BackupRecord; stop: RecoveryStop } | { error: string } {
  const base = backups.filter((b) => b.kind === "base" && b.verified).sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
  if (base.length === 0) return { error: "there is no verified base backup yet" };
  const before = (ms: number) => [...base].reverse().find((b) => Date.parse(b.finishedAt) <= ms);
  switch (target.kind) {
    case "latest":
      return { backup: base.at(-1)!, stop: { kind: "latest" } };
    case "backup": {
      const b = base.find((x) => x.id === target.backup);
      return b ? { backup: b, stop: { kind: "immediate" } } : { error: `no verified base backup '${target.backup}'` };
    }
    case "time": {
      const at = Date.parse(target.at);
      if (Number.isNaN(at)) return { error: "not a timestamp (use ISO 8601, e.g. 2026-01-22T04:15:00Z)" };
      if (at > nowMs) return { error: "the time is in the future" };
      const b = before(at);
      return b ? { backup: b, stop: { kind: "time", at: new Date(at).toISOString() } } : { error: `it is before the earliest backup (${base[0]!.finishedAt})` };
    }
    case "point": {
      const p = points.find((x) => x.name === target.name);
      if (!p) return { error: `no verification point '${target.name}'` };
      const b = before(Date.parse(p.at));
      return b ? { backup: b, stop: { kind: "point", name: p.name } } : { error: `point ${p.name} is before the earliest backup` };
    }
  }
}

export interface RestoreInto {
  readonly resource: string;
  /** The new instance's directory (must not exist). */
  readonly dir: string;
  readonly store: BackupStore;
  readonly backup: BackupRecord;
  readonly stop: RecoveryStop;
  readonly template: PgInstance;
  readonly start: Omit<InstanceStart, "recovery">;
  readonly timeoutMs?: number;
}

/** Verifies the backup, builds the new instance and waits until it is promoted. */
export async function restoreInto(r: RestoreInto): Promise<PgInstance> {
  const inst = new PgInstance({ name: `${r.resource}-restore`, dir: r.dir, bins: r.template.bins, runAs: r.template.runAs });
  inst.prepareDirs();
  if (existsSync(inst.dataDir)) throw new BerthError("BERTH_CONFLICT", { kind: "restore directory", name: inst.dataDir });
  // Verification and copy both read the whole backup: run them side by side (the second read is
  // served from the page cache). `cp -a` keeps the backup's owner and 0700 modes, so no chown pass.
  const copy = runProgram("cp", ["-a", "--reflink=auto", r.backup.path, inst.dataDir], { name: r.resource, timeoutMs: 6 * 3_600_000 });
  const verified = verifyBackup(r.template, r.backup, r.resource, r.store.root, false);
  const [v, c] = await Promise.allSettled([verified, copy]);
  if (v.status === "rejected" || c.status === "rejected") {
    rmSync(inst.dir, { recursive: true, force: true });
    throw v.status === "rejected" ? v.reason : (c as PromiseRejectedResult).reason;
  }
  // The manifest describes the backup, not the new server; the label must stay (recovery reads it).
  rmSync(join(inst.dataDir, "backup_manifest"), { force: true });
  writeOwned(join(inst.dataDir, "recovery.signal"), "", 0o600, inst.runAs);
  try {
    await inst.start({ ...r.start, recovery: { walDir: r.store.walDir, stop: r.stop } });
    if (!(await inst.waitPromoted(r.timeoutMs ?? 30 * 60_000))) throw new Error(`recovery did not finish: ${logTail(inst.logPath, 3)}`);
    return inst;
  } catch (e) {
    const detail = isBerthError(e) ? e.message : (e as Error).message;
    await inst.stop().catch(() => {});
    throw new BerthError("BERTH_DATA_RESTORE_FAILED", { name: r.resource, target: r.stop.kind === "time" ? r.stop.at : r.stop.kind, detail, logPath: inst.logPath }, { cause: e });
  }
}
