/**
 * The webhook monitor worker (seed 002): a BullMQ consumer with no HTTP port. It takes queued
 * webhooks from Redis, inspects them and writes the outcome to Postgres. On SIGTERM it stops
 * taking jobs and lets in-flight ones finish (the blueprint gives it a 60 s shutdown delay).
 */
import { createPool, instanceId, intEnv, required, waitForTable } from "@webhook-monitor/db";
import { queueConnection, WEBHOOK_QUEUE } from "@webhook-monitor/queue";
import { Worker } from "bullmq";

const pool = createPool(required("DATABASE_URL"));
const concurrency = intEnv("WORKER_CONCURRENCY", 10);
await waitForTable(pool, "webhooks");

/** What a monitor would alert on: a short verdict about the payload. */
function summarize(source, payload) {
  const keys = Object.keys(payload ?? {});
  const failed = payload?.status === "failed" || payload?.error !== undefined;
  return `${source}: ${keys.length} fields${failed ? ", reports a failure" : ""}`;
}

const worker = new Worker(
  WEBHOOK_QUEUE,
  async (job) => {
    const { rows } = await pool.query("SELECT source, payload FROM webhooks WHERE id = $1", [job.data.id]);
    if (!rows[0]) throw new Error(`webhook ${job.data.id} not found`);
    const summary = summarize(rows[0].source, rows[0].payload);
    await pool.query("UPDATE webhooks SET status = 'processed', processed_by = $2, processed_at = now(), summary = $3 WHERE id = $1", [
      job.data.id,
      instanceId,
      summary,
    ]);
    return { summary };
  },
  { connection: queueConnection(required("REDIS_URL")), concurrency },
);
worker.on("failed", (job, e) => console.error(`job ${job?.id} failed: ${e.message}`));
worker.on("error", (e) => console.error(`worker error: ${e.message}`));
console.log(`worker ${instanceId} consuming ${WEBHOOK_QUEUE} (concurrency ${concurrency})`);

async function shutdown(signal) {
  console.log(`${signal}: finishing in-flight jobs`);
  await worker.close();
  await pool.end();
  process.exit(0);
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));
