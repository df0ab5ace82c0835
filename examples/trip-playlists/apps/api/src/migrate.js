/**
 * Applies pending migrations: the blueprint's preDeploy step, run once per deploy before any new
 * instance takes traffic. An advisory lock serialises concurrent runs; every applied migration is
 * recorded with its time in `migrations`, which /health reports.
 */
import { required } from "./config.js";
import { createPool } from "./db.js";
import { migrations } from "./migrations.js";

const MIGRATION_LOCK = 7_001_001;

const pool = createPool(required("DATABASE_URL"), 1);
const client = await pool.connect();
try {
  await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
  await client.query("CREATE TABLE IF NOT EXISTS migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
  const done = new Set((await client.query("SELECT name FROM migrations")).rows.map((r) => r.name));
  let applied = 0;
  for (const m of migrations) {
    if (done.has(m.name)) continue;
    await client.query("BEGIN");
    try {
      await client.query(m.sql);
      await client.query("INSERT INTO migrations (name) VALUES ($1)", [m.name]);
      await client.query("COMMIT");
    } catch (e) {
      await client.query("ROLLBACK");
      throw new Error(`migration ${m.name} failed: ${e.message}`);
    }
    applied++;
    console.log(`applied ${m.name}`);
  }
  console.log(`migrations: ${applied} applied, ${migrations.length} total`);
} finally {
  client.release();
  await pool.end();
}
