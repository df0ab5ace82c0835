/**
 * parser-worker (seed 000): parses shared trips. The seed has no Redis (deferred until needed),
 * so the queue is the `trips` table itself: rows are claimed with FOR UPDATE SKIP LOCKED, and the
 * API's NOTIFY wakes the worker at once (with a poll as a fallback). No HTTP port.
 */
import pg from "pg";
import { instanceId, intEnv, required } from "./config.js";
import { createPool, waitForTable } from "./db.js";
import { claimPendingTrip, completeTrip } from "./parse.js";

const POLL_MS = intEnv("PARSER_POLL_MS", 2000);
const url = required("DATABASE_URL");
const pool = createPool(url);
const listener = new pg.Client({ connectionString: url });
let stopping = false;
let wake = () => {};

async function drain() {
  for (;;) {
    const client = await pool.connect();
    let trip;
    try {
      trip = await claimPendingTrip(client);
    } finally {
      client.release();
    }
    if (!trip) return;
    await completeTrip(pool, trip, instanceId).catch((e) => console.error(`trip ${trip.id}: ${e.message}`));
    console.log(`parsed trip ${trip.id}`);
  }
}

await waitForTable(pool, "trips");
await listener.connect();
listener.on("notification", () => wake());
listener.on("error", (e) => {
  console.error(`listen connection lost: ${e.message}`);
  process.exit(1); // the supervisor restarts us
});
await listener.query("LISTEN trips_pending");
console.log(`parser-worker ${instanceId} waiting for trips`);

async function shutdown(signal) {
  console.log(`${signal}: stopping`);
  stopping = true;
  wake();
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));

while (!stopping) {
  await drain().catch((e) => console.error(`drain failed: ${e.message}`));
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, POLL_MS);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}
await listener.end().catch(() => {});
await pool.end();
