/**
 * The SQLite handle (node:sqlite, WAL mode) and the migration runner. Only repositories in
 * `repositories/` write SQL; everything else goes through them.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { BerthError } from "../core/errors.ts";

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), "migrations");

/** The part of node:sqlite the repositories use; `prepare` returns a cached statement. */
export interface Sql {
  prepare(text: string): StatementSync;
  exec(text: string): void;
}

export interface Db {
  readonly path: string;
  readonly sql: Sql;
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
  const statements = new StatementCache(sql);
  const db: Db = {
    path,
    sql: { prepare: (text) => statements.get(text), exec: (text) => sql.exec(text) },
    tx,
    close: () => {
      statements.clear();
      sql.close();
    },
  };
  migrate(db, migrations);
  return db;
}

/**
 * Prepared statements by SQL text, least recently used dropped beyond `limit`. Repositories
 * prepare at each call; preparing anew cost ~35 % more CPU per query and left native statement
 * memory for the GC to find (~10 MB more RSS over 300k queries), which a 5,000-service sync
 * runs many times over. The statements are used synchronously, so one per text is safe to share.
 */
class StatementCache {
  readonly #sql: DatabaseSync;
  readonly #limit: number;
  readonly #byText = new Map<string, StatementSync>();

  constructor(sql: DatabaseSync, limit = 400) {
    this.#sql = sql;
    this.#limit = limit;
  }

  get(text: string): StatementSync {
    let st = this.#byText.get(text);
    if (st) {
      this.#byText.delete(text);
    } else {
      st = this.#sql.prepare(text);
      if (this.#byText.size >= this.#limit) this.#byText.delete(this.#byText.keys().next().value!);
    }
    this.#byText.set(text, st);
    return st;
  }

  clear(): void {
    this.#byText.clear();
  }
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
