import type { ActualInstance } from "../../engine/engine.ts";
import type { Db } from "../db.ts";

export interface InstanceRow {
  readonly id: string;
  readonly serviceId: string;
  readonly releaseId: string | null;
  readonly state: string;
  readonly pid: number | null;
  readonly host: string | null;
  readonly port: number | null;
  /** Where it runs on a multi-node engine (issue 20); null on the local engine. */
  readonly node: string | null;
  readonly restarts: number;
  readonly startedAt: string | null;
  readonly updatedAt: string;
}

interface Raw {
  id: string;
  service_id: string;
  release_id: string | null;
  state: string;
  pid: number | null;
  host: string | null;
  port: number | null;
  node: string | null;
  restarts: number;
  started_at: string | null;
  updated_at: string;
}
const toRow = (r: Raw): InstanceRow => ({
  id: r.id,
  serviceId: r.service_id,
  releaseId: r.release_id,
  state: r.state,
  pid: r.pid,
  host: r.host,
  port: r.port,
  node: r.node ?? null,
  restarts: r.restarts,
  startedAt: r.started_at,
  updatedAt: r.updated_at,
});

/** The last observed instances of each service: a snapshot of the engine's `actual()`. */
export class InstanceRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  /** `snapshot` for many services, in transactions of a few hundred (an environment after a reconcile). */
  async snapshotAll(entries: readonly (readonly [serviceId: string, instances: readonly ActualInstance[]])[], now: string, between: () => Promise<void> = async () => {}): Promise<void> {
    for (let i = 0; i < entries.length; i += 500) {
      if (i > 0) await between();
      this.#db.tx(() => {
        for (const [serviceId, instances] of entries.slice(i, i + 500)) this.snapshot(serviceId, instances, now);
      });
    }
  }

  /** Replaces the service's snapshot with what the engine reports now. */
  snapshot(serviceId: string, instances: readonly ActualInstance[], now: string): void {
    this.#db.tx(() => {
      this.#db.sql.prepare("DELETE FROM instances WHERE service_id = ?").run(serviceId);
      const insert = this.#db.sql.prepare(
        "INSERT INTO instances (id, service_id, release_id, state, pid, host, port, node, restarts, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      );
      for (const i of instances) {
        insert.run(i.id, serviceId, i.releaseId, i.state, i.pid ?? null, i.endpoint?.host ?? null, i.endpoint?.port ?? null, i.node ?? null, i.restarts, i.startedAt, now);
      }
    });
  }

  /**
   * Every instance of an environment's services, with its release number, in one query (the
   * status of a 5,000-service environment must not cost a query per service).
   */
  listByEnvironment(environmentId: string, services?: readonly string[]): (InstanceRow & { readonly service: string; readonly releaseNumber: number | null })[] {
    const only = services ? ` AND s.name IN (${services.map(() => "?").join(", ") || "NULL"})` : "";
    const rows = this.#db.sql
      .prepare(
        `SELECT i.*, s.name AS service_name, r.number AS release_number FROM instances i JOIN services s ON s.id = i.service_id LEFT JOIN releases r ON r.id = i.release_id WHERE s.environment_id = ?${only} ORDER BY i.service_id, i.id`,
      )
      .all(environmentId, ...(services ?? [])) as unknown as (Raw & { service_name: string; release_number: number | null })[];
    return rows.map((r) => ({ ...toRow(r), service: r.service_name, releaseNumber: r.release_number }));
  }

  list(serviceId: string): InstanceRow[] {
    return (this.#db.sql.prepare("SELECT * FROM instances WHERE service_id = ? ORDER BY id").all(serviceId) as unknown as Raw[]).map(toRow);
  }
}
