/**
 * What a server's periodic upkeep should do now, as a pure function of when each thing last
 * happened: check the WAL archive (always), take a base backup and prune when the interval has
 * passed, record a verification point, run a restore drill. The daemon calls
 * `PostgresProvider.tick()` on a timer (e.g. every archive_timeout); every duty is idempotent.
 */
import { Cron } from "croner";

export type Duty = "check-archive" | "backup" | "prune" | "point" | "drill";

export interface DutyHistory {
  readonly lastBackupAt: string | undefined;
  readonly lastPointAt: string | undefined;
  readonly lastDrillAt: string | undefined;
}

export interface DutyIntervals {
  readonly backupIntervalMs: number;
  readonly pointIntervalMs: number;
  readonly drillIntervalMs: number;
  /** The blueprint's `backups.schedule` (cron, UTC): a backup is due once a scheduled time passed since the last. */
  readonly backupSchedule?: string | undefined;
  /** `backups: false`: no scheduled base backups, no pruning, no drills. */
  readonly backups?: boolean;
  /** `pitr: false`: no WAL archive, so no archive check and no restore points. */
  readonly pitr?: boolean;
}

export const DEFAULT_INTERVALS: DutyIntervals = { backupIntervalMs: 86_400_000, pointIntervalMs: 3_600_000, drillIntervalMs: 86_400_000 };

const due = (last: string | undefined, intervalMs: number, nowMs: number) => last === undefined || nowMs - Date.parse(last) >= intervalMs;

/** Whether a scheduled time of `schedule` lies after `last` and at or before `nowMs`. */
function scheduleDue(schedule: string, last: string | undefined, nowMs: number): boolean {
  if (last === undefined) return true;
  const next = new Cron(schedule, { paused: true, timezone: "UTC" }).nextRun(new Date(last));
  return next !== null && next.getTime() <= nowMs;
}

export function planDuties(h: DutyHistory, iv: DutyIntervals, nowMs: number): Duty[] {
  const pitr = iv.pitr !== false;
  const duties: Duty[] = pitr ? ["check-archive"] : [];
  if (iv.backups === false) return duties;
  const backupDue = iv.backupSchedule ? scheduleDue(iv.backupSchedule, h.lastBackupAt, nowMs) : due(h.lastBackupAt, iv.backupIntervalMs, nowMs);
  if (backupDue) duties.push("backup", "prune");
  if (pitr && due(h.lastPointAt, iv.pointIntervalMs, nowMs)) duties.push("point");
  // A drill needs a backup to restore; the first one waits for the first backup.
  if (h.lastBackupAt !== undefined && due(h.lastDrillAt, iv.drillIntervalMs, nowMs)) duties.push("drill");
  return duties;
}

export interface DutyResult {
  readonly duty: Duty;
  readonly ok: boolean;
  readonly error?: string;
}

/** Runs the planned duties in order; a failing one (already loud) does not stop the rest. */
export async function runDuties(duties: readonly Duty[], run: Readonly<Record<Duty, () => Promise<unknown>>>): Promise<DutyResult[]> {
  const results: DutyResult[] = [];
  for (const duty of duties) {
    try {
      await run[duty]();
      results.push({ duty, ok: true });
    } catch (e) {
      results.push({ duty, ok: false, error: (e as Error).message });
    }
  }
  return results;
}
