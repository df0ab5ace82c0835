import { BerthError } from "../../core/errors.ts";
import { newId } from "../../core/ids.ts";
import type { Db } from "../db.ts";
import { fromJson, toJson } from "../db.ts";

export type EnvironmentStatus = "pending" | "reconciling" | "live" | "degraded" | "failed" | "stopping" | "stopped";

export interface EnvironmentRow {
  readonly id: string;
  readonly projectId: string;
  readonly project: string;
  readonly name: string;
  /** The environment's desired state as recorded by the last sync (JSON document). */
  readonly blueprint: unknown;
  readonly generation: number;
  readonly reconciledGeneration: number;
  readonly status: EnvironmentStatus;
  readonly statusDetail: string | null;
  /** When the environment was first synced: older environments keep contested routes (issue 17). */
  readonly createdAt: string;
  readonly updatedAt: string;
}

interface Raw {
  id: string;
  project_id: string;
  project: string;
  name: string;
  blueprint: string;
  generation: number;
  reconciled_generation: number;
  status: EnvironmentStatus;
  status_detail: string | null;
  created_at: string;
  updated_at: string;
}
const toRow = (r: Raw): EnvironmentRow => ({
  id: r.id,
  projectId: r.project_id,
  project: r.project,
  name: r.name,
  blueprint: fromJson(r.blueprint),
  generation: r.generation,
  reconciledGeneration: r.reconciled_generation,
  status: r.status,
  statusDetail: r.status_detail,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const SELECT = "SELECT e.*, p.name AS project FROM environments e JOIN projects p ON p.id = e.project_id";

export class EnvironmentRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  /** Records a new desired state: bumps the generation when the document changed. */
  record(projectId: string, name: string, blueprint: unknown, now: string): EnvironmentRow {
    return this.#db.tx(() => {
      const existing = this.#db.sql.prepare(`${SELECT} WHERE e.project_id = ? AND e.name = ?`).get(projectId, name) as Raw | undefined;
      const doc = toJson(blueprint);
      if (!existing) {
        const id = newId("env");
        this.#db.sql
          .prepare("INSERT INTO environments (id, project_id, name, blueprint, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)")
          .run(id, projectId, name, doc, now, now);
        return this.requireId(id);
      }
      if (existing.blueprint !== doc) {
        this.#db.sql
          .prepare("UPDATE environments SET blueprint = ?, generation = generation + 1, updated_at = ? WHERE id = ?")
          .run(doc, now, existing.id);
      }
      return this.requireId(existing.id);
    });
  }

  byId(id: string): EnvironmentRow | undefined {
    const r = this.#db.sql.prepare(`${SELECT} WHERE e.id = ?`).get(id) as Raw | undefined;
    return r && toRow(r);
  }

  requireId(id: string): EnvironmentRow {
    const e = this.byId(id);
    if (!e) throw new BerthError("BERTH_NOT_FOUND", { kind: "environment", name: id });
    return e;
  }

  byName(project: string, name: string): EnvironmentRow | undefined {
    const r = this.#db.sql.prepare(`${SELECT} WHERE p.name = ? AND e.name = ?`).get(project, name) as Raw | undefined;
    return r && toRow(r);
  }

  require(project: string, name: string): EnvironmentRow {
    const e = this.byName(project, name);
    if (!e) throw new BerthError("BERTH_NOT_FOUND", { kind: "environment", name: `${project}/${name}` });
    return e;
  }

  list(): EnvironmentRow[] {
    return (this.#db.sql.prepare(`${SELECT} ORDER BY p.name, e.name`).all() as unknown as Raw[]).map(toRow);
  }

  setStatus(id: string, status: EnvironmentStatus, detail: string | null, now: string, reconciledGeneration?: number): void {
    if (reconciledGeneration === undefined) {
      this.#db.sql.prepare("UPDATE environments SET status = ?, status_detail = ?, updated_at = ? WHERE id = ?").run(status, detail, now, id);
    } else {
      this.#db.sql
        .prepare("UPDATE environments SET status = ?, status_detail = ?, updated_at = ?, reconciled_generation = ? WHERE id = ?")
        .run(status, detail, now, reconciledGeneration, id);
    }
  }

  remove(id: string): void {
    this.#db.sql.prepare("DELETE FROM environments WHERE id = ?").run(id);
  }
}
