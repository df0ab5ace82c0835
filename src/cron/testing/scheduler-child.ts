/**
 * A scheduler in a process of its own, for crash tests: `node scheduler-child.ts DB DIR`.
 * Prints every event as a JSON line. With CRON_CRASH_ON_CLAIM=1 it SIGKILLs itself on its first
 * claim (after the claim is committed, before the run starts). SIGTERM stops it cleanly.
 */
import { systemClock } from "../../core/clock.ts";
import type { EventInput } from "../../core/events.ts";
import { openDb } from "../../store/db.ts";
import { CronScheduler } from "../scheduler.ts";
import { fixtureResolver } from "./fixtures.ts";
import { processRunner } from "./process-runner.ts";

const [dbPath, dir] = process.argv.slice(2);
if (!dbPath || !dir) throw new Error("usage: scheduler-child.ts DB DIR");
const crashOnClaim = process.env.CRON_CRASH_ON_CLAIM === "1";
const db = openDb(dbPath);
const events = {
  emit(e: EventInput): void {
    process.stdout.write(`${JSON.stringify({ type: e.type, data: e.data })}\n`);
    if (crashOnClaim && e.type === "cron:run:claimed") process.kill(process.pid, "SIGKILL");
  },
};
const scheduler = new CronScheduler({ db, clock: systemClock, runner: processRunner({ killAfterMs: 500 }), resolveTask: fixtureResolver(dir), events });
process.on("SIGTERM", () => {
  void scheduler.stop({ drainTimeoutMs: 0 }).then(() => {
    db.close();
    process.exit(0);
  });
});
scheduler.start();
process.stdout.write(`${JSON.stringify({ type: "child:ready" })}\n`);
