/**
 * The webhook monitor API (seed 002): receives webhooks, stores them in Postgres and queues them
 * for the worker through Redis; /health reports database, redis and uptime as JSON.
 */
import { createPool, instanceId, intEnv, required } from "@webhook-monitor/db";
import { probeConnection, queueConnection, WEBHOOK_QUEUE } from "@webhook-monitor/queue";
import { Queue } from "bullmq";
import Fastify from "fastify";
import { healthReport } from "./health.js";

const pool = createPool(required("DATABASE_URL"));
const redisUrl = required("REDIS_URL");
const probe = probeConnection(redisUrl);
const queue = new Queue(WEBHOOK_QUEUE, { connection: queueConnection(redisUrl) });
queue.on("error", (e) => console.error(`queue error: ${e.message}`));

const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? "info" }, bodyLimit: 1024 * 1024 });

app.get("/health", async (_req, reply) => {
  const { ok, body } = await healthReport({ pool, redis: probe });
  const waiting = ok ? await queue.getWaitingCount().catch(() => null) : null;
  return reply.code(ok ? 200 : 503).send({ ...body, queue: { name: WEBHOOK_QUEUE, waiting }, instance: instanceId });
});

app.post("/webhooks/:source", async (req, reply) => {
  const { rows } = await pool.query("INSERT INTO webhooks (source, payload) VALUES ($1, $2) RETURNING id", [req.params.source, JSON.stringify(req.body ?? {})]);
  const id = String(rows[0].id);
  await queue.add("webhook", { id }, { jobId: `webhook-${id}`, attempts: 5, backoff: { type: "exponential", delay: 1000 }, removeOnComplete: 1000 });
  return reply.code(202).send({ id, status: "queued" });
});

app.get("/webhooks/:id", async (req, reply) => {
  const { rows } = await pool.query("SELECT id, source, status, received_at, processed_by, processed_at, summary FROM webhooks WHERE id = $1", [req.params.id]);
  return rows[0] ?? reply.code(404).send({ error: "no such webhook" });
});

app.get("/webhooks", async () => {
  const { rows } = await pool.query("SELECT status, count(*)::int AS n FROM webhooks GROUP BY status ORDER BY status");
  return { counts: Object.fromEntries(rows.map((r) => [r.status, r.n])) };
});

async function shutdown(signal) {
  app.log.info(`${signal}: closing`);
  await app.close();
  await Promise.allSettled([queue.close(), pool.end()]);
  probe.disconnect();
  process.exit(0);
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));

await app.listen({ port: intEnv("PORT", 3000), host: process.env.HOST ?? "0.0.0.0" });
