/**
 * Schedules parsed by `croner` (5 fields, optional seconds, `@hourly`-style shortcuts, a time
 * zone). A `Schedule` is a pure function of time: give it an instant, it answers the next slot.
 * DST follows Vixie cron as croner does: a fixed-time job (`30 2 * * *`) whose time falls in a
 * spring-forward gap runs at the first valid time after the gap, and runs once when fall-back
 * repeats its time; interval jobs (`*\/15 * * * *`) skip the gap and run on both occurrences.
 */
import { Cron } from "croner";
import { BerthError } from "../core/errors.ts";

export interface Schedule {
  readonly expression: string;
  readonly timezone: string;
  /** The first slot strictly after `afterMs` (epoch ms), or undefined if there is none. */
  next(afterMs: number): number | undefined;
  /** Up to `n` slots at or before `atMs`, newest first. */
  previous(n: number, atMs: number): number[];
}

/** Throws BERTH_CRON_TIMEZONE_INVALID unless `timezone` is an IANA name this runtime knows. */
export function assertTimezone(timezone: string, job: string): void {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
  } catch {
    throw new BerthError("BERTH_CRON_TIMEZONE_INVALID", { timezone, job });
  }
}

/** Parses a cron expression read in `timezone`. Throws BerthError on a bad expression or zone. */
export function parseSchedule(expression: string, timezone = "UTC", job = "?"): Schedule {
  assertTimezone(timezone, job);
  let cron: Cron;
  try {
    // paused and without a callback: croner never starts a timer, it only computes dates.
    cron = new Cron(expression, { timezone, paused: true, mode: "5-or-6-parts" });
  } catch (e) {
    throw new BerthError("BERTH_CRON_SCHEDULE_INVALID", { schedule: expression, detail: cleanDetail(e) }, { cause: e });
  }
  return {
    expression,
    timezone,
    next(afterMs) {
      return cron.nextRun(new Date(afterMs))?.getTime();
    },
    previous(n, atMs) {
      // croner's reference is exclusive; +1 ms makes a slot exactly at atMs count.
      return cron.previousRuns(n, new Date(atMs + 1)).map((d) => d.getTime());
    },
  };
}

function cleanDetail(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/^CronPattern:\s*/, "");
}
