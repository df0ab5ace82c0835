/**
 * Verification points: a named restore point plus the row count and an order-independent
 * checksum of every user table at exactly that moment. Writers are held back by SHARE locks
 * (readers are not) while the checksums are computed and the restore point is written, so
 * recovering to the point must reproduce the recorded values bit for bit. The cost is a short
 * write pause proportional to table size: fine for the small-to-medium databases Berth targets,
 * and bounded by lock_timeout so a long transaction makes the point fail instead of waiting.
 */
import type pg from "pg";
import { escapeIdentifier, escapeLiteral } from "pg";
import type { PgInstance } from "./instance.ts";
import type { VerificationPoint } from "./store.ts";

type Tables = Record<string, { rows: number; checksum: string }>;

const USER_TABLES = `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  ORDER BY 1, 2`;

/** Row count and checksum of every user table of the database `c` is connected to. */
export async function tableChecksums(c: pg.Client, database: string, lock: boolean): Promise<Tables> {
  const out: Tables = {};
  const tables = (await c.query<{ schema: string; name: string }>(USER_TABLES)).rows;
  const qualified = tables.map((t) => `${escapeIdentifier(t.schema)}.${escapeIdentifier(t.name)}`);
  if (lock && qualified.length > 0) await c.query(`LOCK TABLE ${qualified.join(", ")} IN SHARE MODE`);
  for (const [i, t] of tables.entries()) {
    const q = qualified[i]!;
    const r = await c.query<{ rows: string; checksum: string | null }>(`SELECT count(*) AS rows, md5(string_agg(h, '' ORDER BY h)) AS checksum FROM (SELECT md5(x::text) AS h FROM ${q} x) s`);
    out[`${database}.${t.schema}.${t.name}`] = { rows: Number(r.rows[0]!.rows), checksum: r.rows[0]!.checksum ?? "empty" };
  }
  return out;
}

/** Records a verification point across `databases` and returns it (the caller stores it). */
export async function recordPoint(inst: PgInstance, databases: readonly string[], name: string, lockTimeoutMs = 10_000): Promise<VerificationPoint> {
  const clients: pg.Client[] = [];
  try {
    const tables: Tables = {};
    for (const db of databases) {
      const c = await inst.client(db);
      clients.push(c);
      await c.query("BEGIN ISOLATION LEVEL READ COMMITTED");
      await c.query(`SET LOCAL lock_timeout = ${escapeLiteral(`${lockTimeoutMs}ms`)}`);
      Object.assign(tables, await tableChecksums(c, db, true));
    }
    const admin = clients[0] ?? (await inst.client());
    if (!clients[0]) clients.push(admin);
    const r = await admin.query<{ lsn: string; at: Date }>("SELECT pg_create_restore_point($1)::text AS lsn, clock_timestamp() AS at", [name]);
    for (const c of clients) await c.query("COMMIT");
    return { name, at: r.rows[0]!.at.toISOString(), lsn: r.rows[0]!.lsn, tables };
  } finally {
    for (const c of clients) await c.end().catch(() => {});
  }
}

/** Differences between recorded and restored tables, as readable lines; empty = identical. */
export function compareTables(expected: VerificationPoint["tables"], actual: VerificationPoint["tables"]): string[] {
  const diffs: string[] = [];
  for (const [t, e] of Object.entries(expected)) {
    const a = actual[t];
    if (!a) diffs.push(`${t}: missing after restore`);
    else if (a.rows !== e.rows) diffs.push(`${t}: ${a.rows} rows, expected ${e.rows}`);
    else if (a.checksum !== e.checksum) diffs.push(`${t}: checksum differs`);
  }
  for (const t of Object.keys(actual)) if (!(t in expected)) diffs.push(`${t}: not present at the point`);
  return diffs;
}
