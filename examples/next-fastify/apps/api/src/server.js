/**
 * The Fastify API of seed 004: the only service that talks to Postgres; Redis is a pure cache
 * (the note list is cached for CACHE_TTL_SECONDS and dropped on every write; losing Redis loses
 * nothing but speed). /health checks both and is what the deploy verifies before the switch.
 */
import Fastify from "fastify";
import { instanceId, intEnv, required } from "./config.js";
import { createPool } from "./db.js";
import { healthReport } from "./health.js";
import { probeConnection } from "./redis.js";

const CACHE_KEY = "notes:list";
const CACHE_TTL_SECONDS = intEnv("CACHE_TTL_SECONDS", 30);
const pool = createPool(required("DATABASE_URL"));
const redis = probeConnection(required("REDIS_URL"));
const corsOrigin = process.env.CORS_ORIGIN ?? "*";

const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? "info" } });

app.addHook("onSend", async (_req, reply) => {
  reply.header("access-control-allow-origin", corsOrigin);
});

app.get("/health", async (_req, reply) => {
  const { ok, body } = await healthReport({ pool, redis });
  return reply.code(ok ? 200 : 503).send({ ...body, instance: instanceId });
});

/** The cache is best effort: a Redis error means a miss, never a failed request. */
async function cached(load) {
  const hit = await redis.get(CACHE_KEY).catch(() => null);
  if (hit) return { cache: "hit", value: JSON.parse(hit) };
  const value = await load();
  await redis.set(CACHE_KEY, JSON.stringify(value), "EX", CACHE_TTL_SECONDS).catch(() => {});
  return { cache: "miss", value };
}

app.get("/notes", async (_req, reply) => {
  const { cache, value } = await cached(async () => (await pool.query("SELECT id, body, created_at FROM notes ORDER BY id DESC LIMIT 100")).rows);
  return reply.header("x-cache", cache).send({ notes: value });
});

app.post("/notes", async (req, reply) => {
  const body = req.body?.body;
  if (typeof body !== "string" || body.length === 0) return reply.code(400).send({ error: "body is required" });
  const { rows } = await pool.query("INSERT INTO notes (body) VALUES ($1) RETURNING id, body, created_at", [body]);
  await redis.del(CACHE_KEY).catch(() => {});
  return reply.code(201).send(rows[0]);
});

async function shutdown(signal) {
  app.log.info(`${signal}: closing`);
  await app.close();
  await pool.end();
  redis.disconnect();
  process.exit(0);
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));

await app.listen({ port: intEnv("PORT", 3000), host: process.env.HOST ?? "0.0.0.0" });
