/** Env groups created through the CLI/API (groups declared in berth.yaml need no row). */
import { newId } from "../../core/ids.ts";
import type { Db } from "../db.ts";

export interface EnvGroupRow {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly createdAt: string;
}

interface Raw {
  id: string;
  project_id: string;
  name: string;
  created_at: string;
}
const toRow = (r: Raw): EnvGroupRow => ({ id: r.id, projectId: r.project_id, name: r.name, createdAt: r.created_at });

export class EnvGroupRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  /** Creates the group if it does not exist; returns it either way. */
  ensure(projectId: string, name: string, now: string): { row: EnvGroupRow; created: boolean } {
    return this.#db.tx(() => {
      const existing = this.byName(projectId, name);
      if (existing) return { row: existing, created: false };
      const row: EnvGroupRow = { id: newId("grp"), projectId, name, createdAt: now };
      this.#db.sql.prepare("INSERT INTO env_groups (id, project_id, name, created_at) VALUES (?, ?, ?, ?)").run(row.id, projectId, name, now);
      return { row, created: true };
    });
  }

  byName(projectId: string, name: string): EnvGroupRow | undefined {
    const r = this.#db.sql.prepare("SELECT * FROM env_groups WHERE project_id = ? AND name = ?").get(projectId, name) as Raw | undefined;
    return r && toRow(r);
  }

  list(projectId: string): EnvGroupRow[] {
    return (this.#db.sql.prepare("SELECT * FROM env_groups WHERE project_id = ? ORDER BY name").all(projectId) as unknown as Raw[]).map(toRow);
  }

  remove(projectId: string, name: string): boolean {
    return Number(this.#db.sql.prepare("DELETE FROM env_groups WHERE project_id = ? AND name = ?").run(projectId, name).changes) > 0;
  }
}
