/**
 * The scheduler (seed 001): MUST run exactly once. It holds a Postgres advisory lock on a
 * dedicated connection for as long as it runs; a second copy waits as a standby until the lock
 * is free. The holder records its lease (instance id, pid, heartbeat, ticks) in
 * `scheduler_leases`, so anyone can check that exactly one lease is live and none overlapped.
 * Each tick it enqueues due reminders and escalates unacknowledged ones.
 */
import { Queue } from "bullmq";
import pg from "pg";
import { instanceId, intEnv, QUEUE_REMINDERS, required } from "./config.js";
import { waitForTable } from "./db.js";
import { queueConnection } from "./redis.js";

const SCHEDULER_LOCK = 7_001_002;
const TICK_MS = intEnv("SCHEDULER_INTERVAL_MS", 5000);
const STANDBY_RETRY_MS = intEnv("SCHEDULER_STANDBY_RETRY_MS", 2000);
const MAX_LEVEL = intEnv("MAX_ESCALATION_LEVEL", 3);

// The lock lives as long as this session, so use a client of its own, never a pooled one.
const db = new pg.Client({ connectionString: required("DATABASE_URL"), connectionTimeoutMillis: 5000 });
db.on("error", (e) => {
  // Losing the session loses the lock: exit so the supervisor restarts us as a standby.
  console.error(`scheduler lost its database session: ${e.message}`);
  process.exit(1);
});
await db.connect();
const queue = new Queue(QUEUE_REMINDERS, { connection: queueConnection(required("REDIS_URL")) });
let stopping = false;

async function acquire() {
  for (;;) {
    const { rows } = await db.query("SELECT pg_try_advisory_lock($1) AS locked", [SCHEDULER_LOCK]);
    if (rows[0].locked) return;
    console.log(`scheduler ${instanceId}: another scheduler holds the lock; standing by`);
    await new Promise((r) => setTimeout(r, STANDBY_RETRY_MS));
    if (stopping) process.exit(0);
  }
}

async function tick() {
  const due = await db.query(
    `UPDATE reminders SET status = 'queued', escalation_level = escalation_level + 1
      WHERE (status = 'scheduled' AND due_at <= now())
         OR (status = 'delivered' AND next_escalation_at <= now() AND escalation_level < $1)
      RETURNING id, escalation_level`,
    [MAX_LEVEL],
  );
  for (const r of due.rows) {
    await queue.add("deliver", { reminderId: r.id, level: r.escalation_level }, { jobId: `reminder-${r.id}-level-${r.escalation_level}`, attempts: 5, backoff: { type: "exponential", delay: 1000 } });
  }
  await db.query("UPDATE scheduler_leases SET heartbeat_at = now(), ticks = ticks + 1 WHERE instance_id = $1", [instanceId]);
  if (due.rowCount) console.log(`scheduler ${instanceId}: enqueued ${due.rowCount} reminder deliveries`);
}

await waitForTable(db, "scheduler_leases");
await acquire();
await db.query(
  "INSERT INTO scheduler_leases (instance_id, pid) VALUES ($1, $2) ON CONFLICT (instance_id) DO UPDATE SET acquired_at = now(), heartbeat_at = now(), released_at = NULL",
  [instanceId, process.pid],
);
console.log(`scheduler ${instanceId}: holding the scheduler lock; ticking every ${TICK_MS} ms`);

let timer = null;
async function loop() {
  try {
    await tick();
  } catch (e) {
    console.error(`scheduler tick failed: ${e.message}`);
  }
  if (!stopping) timer = setTimeout(loop, TICK_MS);
}
await loop();

async function shutdown(signal) {
  stopping = true;
  if (timer) clearTimeout(timer);
  console.log(`${signal}: releasing the scheduler lock`);
  await db.query("UPDATE scheduler_leases SET released_at = now() WHERE instance_id = $1", [instanceId]).catch(() => {});
  await db.end().catch(() => {}); // ends the session, which frees the advisory lock
  await queue.close().catch(() => {});
  process.exit(0);
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));
