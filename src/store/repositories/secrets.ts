/**
 * Rows of the secret store: data keys (wrapped) and encrypted env values. Only ciphertext passes
 * through here; encryption lives in `src/secrets/`.
 */
import { newId } from "../../core/ids.ts";
import type { Db } from "../db.ts";

export interface DataKeyRow {
  readonly id: string;
  readonly projectId: string;
  readonly version: number;
  readonly state: "active" | "retired";
  readonly kekId: string;
  readonly wrapped: string;
  readonly createdAt: string;
  readonly retiredAt: string | null;
}

/** Who a value belongs to: `service:<name>` or `group:<name>`. */
export type SecretOwner = `service:${string}` | `group:${string}`;

/** Identifies one stored value. `environment` is a name or `*` (every environment). */
export interface SecretKey {
  readonly projectId: string;
  readonly environment: string;
  readonly owner: SecretOwner;
  readonly name: string;
}

export interface SecretRow extends SecretKey {
  readonly id: string;
  readonly source: "set" | "generated";
  readonly keyId: string;
  readonly ciphertext: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

interface RawKey {
  id: string;
  project_id: string;
  version: number;
  state: "active" | "retired";
  kek_id: string;
  wrapped: string;
  created_at: string;
  retired_at: string | null;
}
const toKey = (r: RawKey): DataKeyRow => ({
  id: r.id,
  projectId: r.project_id,
  version: r.version,
  state: r.state,
  kekId: r.kek_id,
  wrapped: r.wrapped,
  createdAt: r.created_at,
  retiredAt: r.retired_at,
});

interface RawValue {
  id: string;
  project_id: string;
  environment: string;
  owner: SecretOwner;
  name: string;
  source: "set" | "generated";
  key_id: string;
  ciphertext: string;
  created_at: string;
  updated_at: string;
  updated_by: string;
}
const toValue = (r: RawValue): SecretRow => ({
  id: r.id,
  projectId: r.project_id,
  environment: r.environment,
  owner: r.owner,
  name: r.name,
  source: r.source,
  keyId: r.key_id,
  ciphertext: r.ciphertext,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  updatedBy: r.updated_by,
});

export class SecretRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  /** Runs `fn` in one transaction (the store's). */
  tx<T>(fn: () => T): T {
    return this.#db.tx(fn);
  }

  // --- data keys ---

  insertDataKey(row: Omit<DataKeyRow, "retiredAt">): void {
    this.#db.sql
      .prepare("INSERT INTO data_keys (id, project_id, version, state, kek_id, wrapped, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .run(row.id, row.projectId, row.version, row.state, row.kekId, row.wrapped, row.createdAt);
  }

  dataKey(id: string): DataKeyRow | undefined {
    const r = this.#db.sql.prepare("SELECT * FROM data_keys WHERE id = ?").get(id) as RawKey | undefined;
    return r && toKey(r);
  }

  activeDataKey(projectId: string): DataKeyRow | undefined {
    const r = this.#db.sql.prepare("SELECT * FROM data_keys WHERE project_id = ? AND state = 'active'").get(projectId) as RawKey | undefined;
    return r && toKey(r);
  }

  latestVersion(projectId: string): number {
    const r = this.#db.sql.prepare("SELECT MAX(version) AS v FROM data_keys WHERE project_id = ?").get(projectId) as { v: number | null };
    return r.v ?? 0;
  }

  allDataKeys(): DataKeyRow[] {
    return (this.#db.sql.prepare("SELECT * FROM data_keys ORDER BY project_id, version").all() as unknown as RawKey[]).map(toKey);
  }

  retireDataKey(id: string, now: string): void {
    this.#db.sql.prepare("UPDATE data_keys SET state = 'retired', retired_at = ? WHERE id = ?").run(now, id);
  }

  rewrapDataKey(id: string, kekId: string, wrapped: string): void {
    this.#db.sql.prepare("UPDATE data_keys SET kek_id = ?, wrapped = ? WHERE id = ?").run(kekId, wrapped, id);
  }

  // --- values ---

  /** Inserts or replaces the value at `key`; returns the stored row. */
  upsertValue(key: SecretKey, v: { source: "set" | "generated"; keyId: string; ciphertext: string; actor: string; now: string }): SecretRow {
    return this.#db.tx(() => {
      const existing = this.value(key);
      if (existing) {
        this.#db.sql
          .prepare("UPDATE secret_values SET source = ?, key_id = ?, ciphertext = ?, updated_at = ?, updated_by = ? WHERE id = ?")
          .run(v.source, v.keyId, v.ciphertext, v.now, v.actor, existing.id);
        return { ...existing, source: v.source, keyId: v.keyId, ciphertext: v.ciphertext, updatedAt: v.now, updatedBy: v.actor };
      }
      const id = newId("sec");
      this.#db.sql
        .prepare(
          "INSERT INTO secret_values (id, project_id, environment, owner, name, source, key_id, ciphertext, created_at, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .run(id, key.projectId, key.environment, key.owner, key.name, v.source, v.keyId, v.ciphertext, v.now, v.now, v.actor);
      return { ...key, id, source: v.source, keyId: v.keyId, ciphertext: v.ciphertext, createdAt: v.now, updatedAt: v.now, updatedBy: v.actor };
    });
  }

  value(key: SecretKey): SecretRow | undefined {
    const r = this.#db.sql
      .prepare("SELECT * FROM secret_values WHERE project_id = ? AND environment = ? AND owner = ? AND name = ?")
      .get(key.projectId, key.environment, key.owner, key.name) as RawValue | undefined;
    return r && toValue(r);
  }

  /** Returns true when a row was deleted. */
  deleteValue(key: SecretKey): boolean {
    const r = this.#db.sql
      .prepare("DELETE FROM secret_values WHERE project_id = ? AND environment = ? AND owner = ? AND name = ?")
      .run(key.projectId, key.environment, key.owner, key.name);
    return Number(r.changes) > 0;
  }

  deleteOwner(projectId: string, owner: SecretOwner): number {
    const r = this.#db.sql.prepare("DELETE FROM secret_values WHERE project_id = ? AND owner = ?").run(projectId, owner);
    return Number(r.changes);
  }

  /** Values of a project, optionally narrowed to environments (names, `*` included explicitly). */
  listValues(projectId: string, filter: { environments?: readonly string[]; owner?: SecretOwner } = {}): SecretRow[] {
    const rows = (
      this.#db.sql.prepare("SELECT * FROM secret_values WHERE project_id = ? ORDER BY owner, name, environment").all(projectId) as unknown as RawValue[]
    ).map(toValue);
    return rows.filter((r) => (!filter.environments || filter.environments.includes(r.environment)) && (!filter.owner || r.owner === filter.owner));
  }

  allValues(): SecretRow[] {
    return (this.#db.sql.prepare("SELECT * FROM secret_values ORDER BY project_id, id").all() as unknown as RawValue[]).map(toValue);
  }

  /** Values still encrypted with a data key other than `keyId`, for re-encryption after a rotation. */
  valuesNotUnder(projectId: string, keyId: string, limit: number): SecretRow[] {
    return (
      this.#db.sql.prepare("SELECT * FROM secret_values WHERE project_id = ? AND key_id <> ? ORDER BY id LIMIT ?").all(projectId, keyId, limit) as unknown as RawValue[]
    ).map(toValue);
  }

  /** Replaces a ciphertext only if it is still the one that was read (no lost update). */
  replaceCiphertext(id: string, expected: string, keyId: string, ciphertext: string): boolean {
    const r = this.#db.sql.prepare("UPDATE secret_values SET key_id = ?, ciphertext = ? WHERE id = ? AND ciphertext = ?").run(keyId, ciphertext, id, expected);
    return Number(r.changes) > 0;
  }
}
