/**
 * Shared database package of the webhook monitor: the pool (postgres:// and postgresql:// both
 * work with `pg`), required-variable handling and the instance id used in rows.
 */
import { hostname } from "node:os";
import pg from "pg";

/** The first set variable among `names`; exits with a clear message when none is. */
export function required(...names) {
  const value = names.map((n) => process.env[n]).find((v) => v);
  if (!value) {
    console.error(`${names.join(" or ")} is not set`);
    process.exit(78); // EX_CONFIG: restarting will not help
  }
  return value;
}

/** A positive integer from the environment, or the fallback. */
export function intEnv(name, fallback) {
  const n = Number.parseInt(process.env[name] ?? "", 10);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** Who this process is, for rows it writes: Berth's instance id when there is one. */
export const instanceId = process.env.BERTH_INSTANCE_ID ?? `${hostname()}-${process.pid}`;

/** A small pool with short timeouts, so a dead database fails health checks fast instead of hanging. */
export function createPool(url, max = 5) {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 3000, idleTimeoutMillis: 10000 });
  pool.on("error", (e) => console.error(`postgres pool error: ${e.message}`));
  return pool;
}

/**
 * Waits until the preDeploy migration has created `table`: the worker can start before (or
 * without) the API's first deploy, and should wait rather than crash-loop.
 */
export async function waitForTable(db, table, retryMs = 2000) {
  for (let logged = false; ; logged = true) {
    const { rows } = await db.query("SELECT to_regclass($1) IS NOT NULL AS present", [table]);
    if (rows[0].present) return;
    if (!logged) console.log(`waiting for table ${table} (migrations have not run yet)`);
    await new Promise((r) => setTimeout(r, retryMs));
  }
}
