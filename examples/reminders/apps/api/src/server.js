/**
 * The reminders API (seed 001): /health checks Postgres and Redis, /jobs enqueues work for the
 * worker through Redis (BullMQ) and reads its results from Postgres, /reminders creates reminders
 * that the singleton scheduler escalates.
 */
import { Queue } from "bullmq";
import Fastify from "fastify";
import { instanceId, intEnv, QUEUE_JOBS, required } from "./config.js";
import { createPool } from "./db.js";
import { healthReport } from "./health.js";
import { probeConnection, queueConnection } from "./redis.js";

const pool = createPool(required("DATABASE_URL_POOLED", "DATABASE_URL"));
const redisUrl = required("REDIS_URL");
const probe = probeConnection(redisUrl);
const queueRedis = queueConnection(redisUrl);
const jobs = new Queue(QUEUE_JOBS, { connection: queueRedis });
jobs.on("error", (e) => console.error(`queue error: ${e.message}`));

const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? "info" } });

app.get("/health", async (_req, reply) => {
  const { ok, body } = await healthReport({ pool, redis: probe });
  return reply.code(ok ? 200 : 503).send({ ...body, instance: instanceId });
});

app.get("/health/ready", async () => ({ status: "ready" }));

app.post("/jobs", async (req, reply) => {
  const input = req.body ?? {};
  const job = await jobs.add("hash", input, { attempts: 3, backoff: { type: "exponential", delay: 500 }, removeOnComplete: 1000 });
  return reply.code(202).send({ id: job.id, status: "queued" });
});

app.get("/jobs/:id", async (req, reply) => {
  const { rows } = await pool.query("SELECT job_id, input, output, worker, finished_at FROM job_results WHERE job_id = $1", [req.params.id]);
  if (rows[0]) return { id: rows[0].job_id, status: "done", ...rows[0] };
  const job = await jobs.getJob(req.params.id);
  if (!job) return reply.code(404).send({ error: "no such job" });
  return { id: job.id, status: await job.getState() };
});

app.post("/reminders", async (req, reply) => {
  const { title, dueInSeconds = 0 } = req.body ?? {};
  if (typeof title !== "string" || title.length === 0) return reply.code(400).send({ error: "title is required" });
  const { rows } = await pool.query(
    "INSERT INTO reminders (title, due_at) VALUES ($1, now() + make_interval(secs => $2)) RETURNING id, title, due_at, status",
    [title, Number(dueInSeconds) || 0],
  );
  return reply.code(201).send(rows[0]);
});

app.get("/reminders/:id", async (req, reply) => {
  const { rows } = await pool.query("SELECT id, title, due_at, status, escalation_level FROM reminders WHERE id = $1", [req.params.id]);
  if (!rows[0]) return reply.code(404).send({ error: "no such reminder" });
  const deliveries = await pool.query("SELECT level, worker, delivered_at FROM deliveries WHERE reminder_id = $1 ORDER BY id", [req.params.id]);
  return { ...rows[0], deliveries: deliveries.rows };
});

app.post("/reminders/:id/ack", async (req, reply) => {
  const { rowCount } = await pool.query("UPDATE reminders SET status = 'acknowledged', next_escalation_at = NULL WHERE id = $1", [req.params.id]);
  return rowCount ? { status: "acknowledged" } : reply.code(404).send({ error: "no such reminder" });
});

app.get("/scheduler", async () => {
  const { rows } = await pool.query(
    "SELECT instance_id, pid, acquired_at, heartbeat_at, ticks, released_at FROM scheduler_leases ORDER BY acquired_at",
  );
  return { leases: rows };
});

async function shutdown(signal) {
  app.log.info(`${signal}: closing`);
  await app.close();
  await Promise.allSettled([jobs.close(), pool.end()]);
  probe.disconnect();
  queueRedis.disconnect();
  process.exit(0);
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));

await app.listen({ port: intEnv("PORT", 3801), host: process.env.HOST ?? "0.0.0.0" });
