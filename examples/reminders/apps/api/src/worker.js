/**
 * The worker (seed 001, x2): consumes the `jobs` queue (work enqueued by the API) and the
 * `reminders` queue (deliveries enqueued by the scheduler) from Redis and writes results to
 * Postgres. It listens on no port; Berth supervises it as a plain process.
 */
import { createHash } from "node:crypto";
import { Worker } from "bullmq";
import { instanceId, intEnv, QUEUE_JOBS, QUEUE_REMINDERS, required } from "./config.js";
import { createPool, waitForTable } from "./db.js";
import { queueConnection } from "./redis.js";

const ESCALATE_AFTER_SECONDS = intEnv("ESCALATE_AFTER_SECONDS", 300);
const pool = createPool(required("DATABASE_URL_POOLED", "DATABASE_URL"));
const redisUrl = required("REDIS_URL");
const concurrency = intEnv("WORKER_CONCURRENCY", 4);
await waitForTable(pool, "deliveries");

const jobsWorker = new Worker(
  QUEUE_JOBS,
  async (job) => {
    const output = createHash("sha256").update(JSON.stringify(job.data)).digest("hex");
    await pool.query(
      "INSERT INTO job_results (job_id, input, output, worker) VALUES ($1, $2, $3, $4) ON CONFLICT (job_id) DO NOTHING",
      [job.id, JSON.stringify(job.data), output, instanceId],
    );
    return { output };
  },
  { connection: queueConnection(redisUrl), concurrency },
);

const remindersWorker = new Worker(
  QUEUE_REMINDERS,
  async (job) => {
    const { reminderId, level } = job.data;
    // A real app would text or email here (Twilio, SendGrid); the delivery row is the proof.
    await pool.query("INSERT INTO deliveries (reminder_id, level, worker) VALUES ($1, $2, $3)", [reminderId, level, instanceId]);
    await pool.query(
      "UPDATE reminders SET status = 'delivered', next_escalation_at = now() + make_interval(secs => $2) WHERE id = $1 AND status = 'queued'",
      [reminderId, ESCALATE_AFTER_SECONDS],
    );
  },
  { connection: queueConnection(redisUrl), concurrency },
);

for (const w of [jobsWorker, remindersWorker]) {
  w.on("failed", (job, e) => console.error(`job ${job?.id} failed: ${e.message}`));
  w.on("error", (e) => console.error(`worker error: ${e.message}`));
}
console.log(`worker ${instanceId} consuming ${QUEUE_JOBS}, ${QUEUE_REMINDERS} (concurrency ${concurrency})`);

async function shutdown(signal) {
  console.log(`${signal}: finishing in-flight jobs`);
  await Promise.allSettled([jobsWorker.close(), remindersWorker.close()]);
  await pool.end();
  process.exit(0);
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));
