/**
 * PostgreSQL access through `pg`. Its connection-string parser accepts both postgres:// and
 * postgresql:// (Render-style and libpq-style URLs), so no rewriting is needed.
 */
import pg from "pg";

/** A small pool with short timeouts, so a dead database fails health checks fast instead of hanging. */
export function createPool(url, max = 5) {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 3000, idleTimeoutMillis: 10000 });
  pool.on("error", (e) => console.error(`postgres pool error: ${e.message}`));
  return pool;
}
