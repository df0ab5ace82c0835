/**
 * What a server's periodic upkeep should do now, as a pure function of when each thing last
 * happened: check the WAL archive (always), take a base backup and prune when the interval has
 * passed, record a verification point, run a restore drill. The daemon calls
 * `PostgresProvider.tick()` on a timer (e.g. every archive_timeout); every duty is idempotent.
 */
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
}

export const DEFAULT_INTERVALS: DutyIntervals = { backupIntervalMs: 86_400_000, pointIntervalMs: 3_600_000, drillIntervalMs: 86_400_000 };

const due = (last: string | undefined, intervalMs: number, nowMs: number) => last === undefined || nowMs - Date.parse(last) >= intervalMs;

export function planDuties(h: DutyHistory, iv: DutyIntervals, nowMs: number): Duty[] {
  const duties: Duty[] = ["check-archive"];
  if (due(h.lastBackupAt, iv.backupIntervalMs, nowMs)) duties.push("backup", "prune");
  if (due(h.lastPointAt, iv.pointIntervalMs, nowMs)) duties.push("point");
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
