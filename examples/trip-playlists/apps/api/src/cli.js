/**
 * Entry points for seed 000's cron jobs, the same codebase as the services:
 *   node src/cli.js parse-trip --share            (hourly) parse pending trips and mark them shared
 *   node src/cli.js reminder-dispatch --upcoming  (every 15 min) remind travellers of trips soon
 * Each run is recorded in `cron_runs`. Transient database errors are retried with exponential
 * backoff inside the run; a run that still fails exits 1, and Berth's own retry policy takes over.
 */
import { instanceId, intEnv, required } from "./config.js";
import { createPool } from "./db.js";
import { claimPendingTrip, completeTrip } from "./parse.js";

const BATCH = intEnv("CRON_BATCH", 100);
const UPCOMING_HOURS = intEnv("REMINDER_WINDOW_HOURS", 48);

async function withBackoff(what, fn, attempts = 4, firstDelayMs = 500) {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= attempts) throw e;
      const delay = firstDelayMs * 2 ** (i - 1);
      console.error(`${what} failed (${e.message}); retry ${i}/${attempts - 1} in ${delay} ms`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

const jobs = {
  /** Parses up to BATCH pending trips; with --share, marks every parsed, unshared trip as shared. */
  async "parse-trip"(pool, flags) {
    let n = 0;
    for (; n < BATCH; n++) {
      const client = await pool.connect();
      let trip;
      try {
        trip = await claimPendingTrip(client);
      } finally {
        client.release();
      }
      if (!trip) break;
      await completeTrip(pool, trip, `cron:${instanceId}`);
    }
    if (flags.has("--share")) {
      const shared = await pool.query("UPDATE trips SET shared_at = now() WHERE status = 'parsed' AND shared_at IS NULL");
      return n + shared.rowCount;
    }
    return n;
  },
  /** With --upcoming, records one reminder for each parsed trip departing within the window. */
  async "reminder-dispatch"(pool) {
    const { rowCount } = await pool.query(
      `INSERT INTO reminders (trip_id)
       SELECT id FROM trips WHERE status = 'parsed' AND departs_at BETWEEN now() AND now() + make_interval(hours => $1)
       ON CONFLICT (trip_id) DO NOTHING`,
      [UPCOMING_HOURS],
    );
    return rowCount;
  },
};

/** Flags each job insists on: a usage error exits 64 at once instead of being retried. */
const REQUIRED_FLAGS = { "parse-trip": [], "reminder-dispatch": ["--upcoming"] };

const [name, ...args] = process.argv.slice(2);
const job = jobs[name];
const missing = (REQUIRED_FLAGS[name] ?? []).filter((f) => !args.includes(f));
if (!job || missing.length > 0) {
  console.error(`usage: cli.js parse-trip [--share] | reminder-dispatch --upcoming${missing.length ? ` (missing ${missing.join(" ")})` : ""}`);
  process.exit(64); // EX_USAGE
}
const pool = createPool(required("DATABASE_URL"), 2);
const run = await withBackoff("recording the run", async () =>
  (await pool.query("INSERT INTO cron_runs (job, args) VALUES ($1, $2) RETURNING id", [name, args.join(" ")])).rows[0].id,
);
try {
  const processed = await withBackoff(name, () => job(pool, new Set(args)));
  await pool.query("UPDATE cron_runs SET finished_at = now(), processed = $2, ok = true WHERE id = $1", [run, processed]);
  console.log(`${name} ${args.join(" ")}: processed ${processed}`);
} catch (e) {
  await pool.query("UPDATE cron_runs SET finished_at = now(), ok = false WHERE id = $1", [run]).catch(() => {});
  console.error(`${name} failed: ${e.message}`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
