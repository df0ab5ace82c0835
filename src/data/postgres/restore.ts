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
import { LOWLEVEL_MANIFEST } from "./lowlevel-backup.ts";
import type { RecoverySettings } from "./config.ts";
import { writeOwned } from "../files.ts";
import { type InstanceStart, PgInstance } from "./instance.ts";

/** Text form of a target, for events and errors. */
export function describeTarget(t: RestoreTarget): string {
  if (t.kind === "time") return t.at;
  if (t.kind === "backup") return `backup ${t.backup}`;
  if (t.kind === "point") return `point ${t.name}`;
  return "latest";
}

export interface RestoreInto {
  readonly resource: string;
  /** The new instance's directory (must not exist). */
  readonly dir: string;
  /** The store holding the backup (named in errors). */
  readonly storeDir: string;
  readonly backup: BackupRecord;
  readonly recovery: RecoverySettings;
  readonly template: PgInstance;
  readonly start: Omit<InstanceStart, "recovery">;
  readonly timeoutMs?: number;
}

/** PostgreSQL's words when recovery ran out of WAL before its target (PostgreSQL 13 and later). */
export const TARGET_NOT_REACHED = /recovery ended before configured recovery target was reached/;

/**
 * Verifies the backup, builds the new instance and waits until it is promoted. A failure
 * removes the new instance's directory but its server log, which the error names (kept beside
 * it as `<dir>.log`).
 */
export async function restoreInto(r: RestoreInto): Promise<PgInstance> {
  const inst = new PgInstance({ name: `${r.resource}-restore`, dir: r.dir, bins: r.template.bins, runAs: r.template.runAs });
  inst.prepareDirs();
  if (existsSync(inst.dataDir)) throw new BerthError("BERTH_CONFLICT", { kind: "restore directory", name: inst.dataDir });
  // Verification and copy both read the whole backup: run them side by side (the second read is
  // served from the page cache). `cp -a` keeps the backup's owner and 0700 modes, so no chown pass.
  const copy = runProgram("cp", ["-a", "--reflink=auto", r.backup.path, inst.dataDir], { name: r.resource, timeoutMs: 6 * 3_600_000 });
  const verified = verifyBackup(r.template, r.backup, r.resource, r.storeDir, false);
  const [v, c] = await Promise.allSettled([verified, copy]);
  if (v.status === "rejected" || c.status === "rejected") {
    rmSync(inst.dir, { recursive: true, force: true });
    throw v.status === "rejected" ? v.reason : (c as PromiseRejectedResult).reason;
  }
  // The manifest describes the backup, not the new server; the label must stay (recovery reads it).
  rmSync(join(inst.dataDir, "backup_manifest"), { force: true });
  rmSync(join(inst.dataDir, LOWLEVEL_MANIFEST), { force: true });
  writeOwned(join(inst.dataDir, "recovery.signal"), "", 0o600, inst.runAs);
  try {
    await inst.start({ ...r.start, recovery: r.recovery });
    if (!(await inst.waitPromoted(r.timeoutMs ?? 30 * 60_000))) throw new Error(`recovery did not finish: ${logTail(inst.logPath, 3)}`);
    return inst;
  } catch (e) {
    const detail = isBerthError(e) ? e.message : (e as Error).message;
    await inst.stop().catch(() => {});
    const logPath = `${inst.dir}.log`;
    await runProgram("cp", [inst.logPath, logPath], { name: r.resource }).catch(() => {});
    rmSync(inst.dir, { recursive: true, force: true });
    const stop = r.recovery.stop;
    throw new BerthError("BERTH_DATA_RESTORE_FAILED", { name: r.resource, target: stop.kind === "time" ? stop.at : stop.kind === "point" ? `point ${stop.name}` : stop.kind, detail, logPath }, { cause: e });
  }
}
