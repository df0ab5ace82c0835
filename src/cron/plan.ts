/**
 * The slot planner: a pure function of (job settings, last planned slot, now). No clock inside,
 * so its tests pass time as data. It answers which slots to run now, which were missed (and are
 * only recorded, loudly), the new cursor and when to wake up next.
 *
 * A slot is on time when `now - slot <= graceMs`; only the newest slot can be. Every older slot
 * since the cursor (the daemon was down, the host slept) and every abandoned claim is late, and
 * the missed-run policy decides: `skip` runs none of them, `run-once` runs the newest late slot
 * unless an on-time slot runs anyway, `run-all` runs the newest `maxRuns` of them.
 */
import type { MissedPolicy } from "./job.ts";
import type { Schedule } from "./schedule.ts";

/** Slots enumerated one by one before the planner switches to counting "at least". */
export const ENUMERATE_LIMIT = 2_000;
/** Missed slots recorded individually (the rest only counted in the event). */
export const RECORD_MISSED_MAX = 50;

export interface PlanInput {
  readonly schedule: Schedule;
  readonly missed: { readonly policy: MissedPolicy; readonly maxRuns: number };
  readonly graceMs: number;
  /** The newest slot already handled; undefined for a job never planned (nothing is owed). */
  readonly cursorMs: number | undefined;
  readonly nowMs: number;
  /** Slots claimed before a crash that never started; they count as late slots. */
  readonly abandonedMs?: readonly number[];
}

export interface PlannedSlot {
  readonly slotMs: number;
  /** True when the slot runs late, under the missed-run policy. */
  readonly catchUp: boolean;
}

export interface MissedSlots {
  /** How many late slots will not run. */
  readonly count: number;
  /** True when there were too many to count exactly (`count` is a lower bound). */
  readonly atLeast: boolean;
  /** The newest of them (at most RECORD_MISSED_MAX), oldest first. */
  readonly slotsMs: readonly number[];
  /** The oldest and newest missed slot (the oldest may be older than `slotsMs` holds). */
  readonly firstMs: number;
  readonly lastMs: number;
}

export interface SlotPlan {
  /** Slots to claim and start now, oldest first. */
  readonly run: readonly PlannedSlot[];
  readonly missed: MissedSlots | undefined;
  /** The newest slot at or before now: everything up to it is now handled. */
  readonly cursorMs: number;
  /** When the next slot falls due; undefined if the schedule has no more slots. */
  readonly nextWakeMs: number | undefined;
}

/** Plans one job at `nowMs`. Pure. */
export function planSlots(input: PlanInput): SlotPlan {
  const { schedule, nowMs } = input;
  if (input.cursorMs === undefined && (input.abandonedMs ?? []).length === 0) {
    return { run: [], missed: undefined, cursorMs: nowMs, nextWakeMs: schedule.next(nowMs) };
  }
  const cursorMs = input.cursorMs ?? nowMs;
  const keep = RECORD_MISSED_MAX + input.missed.maxRuns + 1;
  const { slots, count, atLeast, firstMs } = slotsBetween(schedule, cursorMs, nowMs, keep);
  const newest = slots.at(-1);
  const onTime = newest !== undefined && nowMs - newest <= input.graceMs ? newest : undefined;
  const lateSince = onTime === undefined ? slots : slots.slice(0, -1);
  const late = [...new Set([...(input.abandonedMs ?? []), ...lateSince])].sort((a, b) => a - b);
  const lateCount = count - (onTime === undefined ? 0 : 1) + (late.length - lateSince.length);

  let catchUp: number[] = [];
  if (input.missed.policy === "run-once" && onTime === undefined && late.length > 0) catchUp = late.slice(-1);
  if (input.missed.policy === "run-all") catchUp = late.slice(-input.missed.maxRuns);
  const notRun = late.slice(0, late.length - catchUp.length);

  const run: PlannedSlot[] = catchUp.map((slotMs) => ({ slotMs, catchUp: true }));
  if (onTime !== undefined) run.push({ slotMs: onTime, catchUp: false });
  const missedCount = lateCount - catchUp.length;
  const nextCursor = Math.max(cursorMs, newest ?? cursorMs);
  return {
    run,
    missed:
      missedCount > 0
        ? {
            count: missedCount,
            atLeast,
            slotsMs: notRun.slice(-RECORD_MISSED_MAX),
            // catch-up runs take the newest late slots, so the oldest late slot is always missed
            firstMs: Math.min(...late.slice(0, 1), ...(input.abandonedMs ?? []), ...(firstMs !== undefined && firstMs !== onTime ? [firstMs] : [])),
            lastMs: notRun.at(-1) ?? nowMs,
          }
        : undefined,
    cursorMs: nextCursor,
    nextWakeMs: schedule.next(Math.max(nowMs, nextCursor)),
  };
}

/** Slots in (afterMs, atMs]: the newest `keep` of them, oldest first, and how many there were. */
function slotsBetween(schedule: Schedule, afterMs: number, atMs: number, keep: number): { slots: number[]; count: number; atLeast: boolean; firstMs: number | undefined } {
  const slots: number[] = [];
  let count = 0;
  let s = schedule.next(afterMs);
  const firstMs = s !== undefined && s <= atMs ? s : undefined;
  while (s !== undefined && s <= atMs && count < ENUMERATE_LIMIT) {
    slots.push(s);
    if (slots.length > keep) slots.shift();
    count++;
    s = schedule.next(s);
  }
  if (s === undefined || s > atMs) return { slots, count, atLeast: false, firstMs };
  // Too many to walk (a per-second job after days down): take the newest ones from the end.
  const tail = schedule.previous(keep, atMs).filter((t) => t > afterMs).reverse();
  return { slots: tail, count, atLeast: true, firstMs };
}
