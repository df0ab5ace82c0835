import { newId } from "../../core/ids.ts";
import type { Artifact } from "../../engine/engine.ts";
import type { Db } from "../db.ts";
import { fromJson, toJson } from "../db.ts";

export interface ReleaseRow {
  readonly id: string;
  readonly serviceId: string;
  readonly number: number;
  readonly artifact: Artifact;
  /** Resolved, secret-free configuration the release was cut with. */
  readonly config: unknown;
  readonly sealedEnv: string;
  readonly createdAt: string;
}

interface Raw {
  id: string;
  service_id: string;
  number: number;
  artifact: string;
  config: string;
  sealed_env: string;
  created_at: string;
}
const toRow = (r: Raw): ReleaseRow => ({
  id: r.id,
  serviceId: r.service_id,
  number: r.number,
  artifact: fromJson(r.artifact),
  config: fromJson(r.config),
  sealedEnv: r.sealed_env,
  createdAt: r.created_at,
});

export class ReleaseRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  /** Cuts the next numbered release of a service. Releases are immutable once written. */
  create(serviceId: string, artifact: Artifact, config: unknown, sealedEnv: string, now: string): ReleaseRow {
    return this.#db.tx(() => {
      const { next } = this.#db.sql.prepare("SELECT COALESCE(MAX(number), 0) + 1 AS next FROM releases WHERE service_id = ?").get(serviceId) as {
        next: number;
      };
      const id = newId("rel");
      this.#db.sql
        .prepare("INSERT INTO releases (id, service_id, number, artifact, config, sealed_env, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .run(id, serviceId, next, toJson(artifact), toJson(config), sealedEnv, now);
      return this.byId(id)!;
    });
  }

  byId(id: string): ReleaseRow | undefined {
    const r = this.#db.sql.prepare("SELECT * FROM releases WHERE id = ?").get(id) as Raw | undefined;
    return r && toRow(r);
  }

  /**
   * The digests each service's desired release was cut with, for a whole environment in one
   * query, read by SQLite from the JSON (the planner needs nothing else of a release).
   */
  desiredDigests(environmentId: string): Map<string, { readonly id: string; readonly inputsDigest: string; readonly addressesDigest?: string }> {
    const rows = this.#db.sql
      .prepare(
        `SELECT s.id AS service_id, r.id, json_extract(r.config, '$.inputsDigest') AS inputs_digest, json_extract(r.config, '$.addressesDigest') AS addresses_digest
         FROM services s JOIN releases r ON r.id = s.desired_release_id WHERE s.environment_id = ?`,
      )
      .all(environmentId) as { service_id: string; id: string; inputs_digest: string | null; addresses_digest: string | null }[];
    return new Map(
      rows.map((r) => [r.service_id, { id: r.id, inputsDigest: r.inputs_digest ?? "", ...(r.addresses_digest !== null ? { addressesDigest: r.addresses_digest } : {}) }]),
    );
  }

  byNumber(serviceId: string, number: number): ReleaseRow | undefined {
    const r = this.#db.sql.prepare("SELECT * FROM releases WHERE service_id = ? AND number = ?").get(serviceId, number) as Raw | undefined;
    return r && toRow(r);
  }

  list(serviceId: string): ReleaseRow[] {
    return (this.#db.sql.prepare("SELECT * FROM releases WHERE service_id = ? ORDER BY number DESC").all(serviceId) as unknown as Raw[]).map(toRow);
  }

  /** Deletes releases beyond the newest `keep`, never one listed in `protect` (running, desired). */
  prune(serviceId: string, keep: number, protect: ReadonlySet<string>): string[] {
    const old = this.list(serviceId).slice(keep).filter((r) => !protect.has(r.id));
    for (const r of old) this.#db.sql.prepare("DELETE FROM releases WHERE id = ?").run(r.id);
    return old.map((r) => r.id);
  }
}
