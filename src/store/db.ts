/**
 * The SQLite handle (node:sqlite, WAL mode) and the migration runner. Only repositories in
 * `repositories/` write SQL; everything else goes through them.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { BerthError } from "../core/errors.ts";

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), "migrations");

export interface Db {
  readonly path: string;
  readonly sql: DatabaseSync;
  /** Runs `fn` in one IMMEDIATE transaction: all of it lands, or none of it. Nested calls join. */
  tx<T>(fn: () => T): T;
  close(): void;
}

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Reads `NNNN_name.sql` files in order. Pure apart from the directory read. */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 4)), name: f.slice(5, -4), sql: readFileSync(join(dir, f), "utf8") }));
}

/** Opens (creating if needed) the store and applies pending migrations, each in its own transaction. */
export function openDb(path: string, migrations: readonly Migration[] = loadMigrations()): Db {
  let sql: DatabaseSync;
  try {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    sql = new DatabaseSync(path);
    sql.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;");
    // Owner-only: the data dir is traversable by database users, the store is not theirs to read.
    if (path !== ":memory:") for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
  } catch (cause) {
    throw new BerthError("BERTH_STORE_FAILED", { path, detail: (cause as Error).message }, { cause });
  }
  let depth = 0;
  const tx = <T>(fn: () => T): T => {
    if (depth > 0) return fn();
    sql.exec("BEGIN IMMEDIATE");
    depth++;
    try {
      const result = fn();
      sql.exec("COMMIT");
      return result;
    } catch (e) {
      sql.exec("ROLLBACK");
      throw e;
    } finally {
      depth--;
    }
  };
  const db: Db = { path, sql, tx, close: () => sql.close() };
  migrate(db, migrations);
  return db;
}

function migrate(db: Db, migrations: readonly Migration[]): void {
  db.sql.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
  const applied = new Set(
    (db.sql.prepare("SELECT version FROM schema_migrations").all() as { version: number }[]).map((r) => r.version),
  );
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    try {
      db.tx(() => {
        db.sql.exec(m.sql);
        db.sql
          .prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
          .run(m.version, m.name, new Date().toISOString());
      });
    } catch (cause) {
      throw new BerthError("BERTH_STORE_FAILED", { path: db.path, detail: `migration ${m.version}_${m.name}: ${(cause as Error).message}` }, { cause });
    }
  }
}

/** JSON column helpers: values are stored as TEXT and parsed on the way out. */
export function toJson(value: unknown): string {
  return JSON.stringify(value);
}
export function fromJson<T>(text: unknown): T {
  return JSON.parse(String(text)) as T;
}
