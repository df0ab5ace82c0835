/**
 * api-backend (seed 000): trips from share links, playlists, and a /health that checks the
 * database and runs the share-link parser on a known URL, so a deploy whose parsing is broken
 * fails its health gate instead of going live.
 */
import Fastify from "fastify";
import { instanceId, intEnv, required } from "./config.js";
import { createPool } from "./db.js";
import { healthReport } from "./health.js";
import { parseCached, parseShareUrl } from "./parse.js";

const pool = createPool(required("DATABASE_URL"));
const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? "info" } });

function parserCheck() {
  try {
    const r = parseShareUrl("https://maps.example/trip/zurich-to-geneva");
    return r.playlist.length > 0 ? { status: "up" } : { status: "down", error: "empty playlist" };
  } catch (e) {
    return { status: "down", error: e.message };
  }
}

app.get("/health", async (_req, reply) => {
  const { ok, body } = await healthReport({ pool });
  const parser = parserCheck();
  const healthy = ok && parser.status === "up";
  return reply.code(healthy ? 200 : 503).send({ ...body, status: healthy ? "ok" : "error", parser, instance: instanceId });
});

/** Shares a trip: stored as pending for the parser worker (or the hourly parse-trip cron). */
app.post("/trips", async (req, reply) => {
  const shareUrl = req.body?.shareUrl;
  if (typeof shareUrl !== "string" || !URL.canParse(shareUrl)) return reply.code(400).send({ error: "shareUrl must be a URL" });
  const { rows } = await pool.query("INSERT INTO trips (share_url) VALUES ($1) RETURNING id, share_url, status", [shareUrl]);
  await pool.query("NOTIFY trips_pending");
  return reply.code(202).send(rows[0]);
});

app.get("/trips/:id", async (req, reply) => {
  const { rows } = await pool.query(
    "SELECT t.id, t.share_url, t.status, t.title, t.departs_at, t.playlist, t.parsed_by, t.shared_at, r.dispatched_at AS reminder_dispatched_at FROM trips t LEFT JOIN reminders r ON r.trip_id = t.id WHERE t.id = $1",
    [req.params.id],
  );
  return rows[0] ?? reply.code(404).send({ error: "no such trip" });
});

/** Synchronous parse preview, served from the 5-minute per-URL cache. */
app.get("/parse", async (req, reply) => {
  const url = req.query?.url;
  if (typeof url !== "string" || !URL.canParse(url)) return reply.code(400).send({ error: "url must be a URL" });
  return parseCached(pool, url);
});

app.get("/cron-runs", async () => {
  const { rows } = await pool.query("SELECT job, args, started_at, finished_at, processed, ok FROM cron_runs ORDER BY id DESC LIMIT 50");
  return { runs: rows };
});

async function shutdown(signal) {
  app.log.info(`${signal}: closing`);
  await app.close();
  await pool.end();
  process.exit(0);
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));

await app.listen({ port: intEnv("PORT", 3000), host: process.env.HOST ?? "0.0.0.0" });
