/**
 * Share-link parsing with a per-URL cache in Postgres (PARSE_CACHE_TTL_SECONDS, 5 minutes in the
 * blueprint), so the same link never costs two upstream API calls within the TTL. The "upstream"
 * here is a deterministic heuristic: the example has no Spotify/Google credentials to call.
 */
import { createHash } from "node:crypto";
import { intEnv } from "./config.js";

const TTL_SECONDS = intEnv("PARSE_CACHE_TTL_SECONDS", 300);

/** Derives a trip (title, departure, playlist) from a share URL. */
export function parseShareUrl(shareUrl) {
  const url = new URL(shareUrl);
  const words = url.pathname.split(/[/\-_]+/).filter(Boolean);
  const seed = createHash("sha256").update(shareUrl).digest();
  const hours = 24 + (seed[0] % 72);
  return {
    title: words.join(" ") || url.hostname,
    departsAt: new Date(Date.now() + hours * 3600_000).toISOString(),
    playlist: words.slice(0, 5).map((w, i) => ({ track: `${w} song ${seed[i + 1] % 10}`, minutes: 3 + (seed[i + 2] % 3) })),
  };
}

/** The parse result for a URL: from the cache when fresh, else parsed and cached. */
export async function parseCached(pool, shareUrl) {
  const hit = await pool.query("SELECT result FROM parse_cache WHERE share_url = $1 AND expires_at > now()", [shareUrl]);
  if (hit.rows[0]) return { cached: true, result: hit.rows[0].result };
  const result = parseShareUrl(shareUrl);
  await pool.query(
    `INSERT INTO parse_cache (share_url, result, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))
     ON CONFLICT (share_url) DO UPDATE SET result = EXCLUDED.result, expires_at = EXCLUDED.expires_at`,
    [shareUrl, JSON.stringify(result), TTL_SECONDS],
  );
  return { cached: false, result };
}

/** Claims one pending trip (SKIP LOCKED: any number of workers and cron runs can share the table). */
export async function claimPendingTrip(client) {
  const { rows } = await client.query(
    `UPDATE trips SET status = 'parsing', attempts = attempts + 1
      WHERE id = (SELECT id FROM trips WHERE status = 'pending' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING id, share_url`,
  );
  return rows[0];
}

/** Parses one claimed trip and stores the result. */
export async function completeTrip(pool, trip, by) {
  try {
    const { result } = await parseCached(pool, trip.share_url);
    await pool.query("UPDATE trips SET status = 'parsed', title = $2, departs_at = $3, playlist = $4, parsed_by = $5 WHERE id = $1", [
      trip.id,
      result.title,
      result.departsAt,
      JSON.stringify(result.playlist),
      by,
    ]);
  } catch (e) {
    await pool.query("UPDATE trips SET status = CASE WHEN attempts >= 3 THEN 'failed' ELSE 'pending' END WHERE id = $1", [trip.id]);
    throw e;
  }
}
