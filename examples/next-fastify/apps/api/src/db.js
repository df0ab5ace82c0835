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

/**
 * Waits until the preDeploy migration has created `table`: workers and the scheduler can start
 * before (or without) the API's first deploy, and should wait rather than crash-loop.
 */
export async function waitForTable(db, table, retryMs = 2000) {
  for (let logged = false; ; logged = true) {
    const { rows } = await db.query("SELECT to_regclass($1) IS NOT NULL AS present", [table]);
    if (rows[0].present) return;
    if (!logged) console.log(`waiting for table ${table} (migrations have not run yet)`);
    await new Promise((r) => setTimeout(r, retryMs));
  }
}
