import { BerthError } from "../../core/errors.ts";
import { newId } from "../../core/ids.ts";
import type { Db } from "../db.ts";
import { fromJson, toJson } from "../db.ts";

/** Where a project's code comes from. */
export type ProjectSource = { readonly kind: "dir"; readonly path: string } | { readonly kind: "git"; readonly url: string; readonly ref: string };

export interface ProjectRow {
  readonly id: string;
  readonly name: string;
  readonly source: ProjectSource;
  readonly createdAt: string;
}

interface Raw {
  id: string;
  name: string;
  source: string;
  created_at: string;
}
const toRow = (r: Raw): ProjectRow => ({ id: r.id, name: r.name, source: fromJson(r.source), createdAt: r.created_at });

export class ProjectRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  /** Creates the project or updates its source; returns the row. */
  upsert(name: string, source: ProjectSource, now: string): ProjectRow {
    return this.#db.tx(() => {
      const existing = this.byName(name);
      if (existing) {
        this.#db.sql.prepare("UPDATE projects SET source = ? WHERE id = ?").run(toJson(source), existing.id);
        return { ...existing, source };
      }
      const row: ProjectRow = { id: newId("prj"), name, source, createdAt: now };
      this.#db.sql.prepare("INSERT INTO projects (id, name, source, created_at) VALUES (?, ?, ?, ?)").run(row.id, name, toJson(source), now);
      return row;
    });
  }

  byName(name: string): ProjectRow | undefined {
    const r = this.#db.sql.prepare("SELECT * FROM projects WHERE name = ?").get(name) as Raw | undefined;
    return r && toRow(r);
  }

  byId(id: string): ProjectRow | undefined {
    const r = this.#db.sql.prepare("SELECT * FROM projects WHERE id = ?").get(id) as Raw | undefined;
    return r && toRow(r);
  }

  require(name: string): ProjectRow {
    const p = this.byName(name);
    if (!p) throw new BerthError("BERTH_NOT_FOUND", { kind: "project", name });
    return p;
  }

  list(): ProjectRow[] {
    return (this.#db.sql.prepare("SELECT * FROM projects ORDER BY name").all() as unknown as Raw[]).map(toRow);
  }

  remove(id: string): void {
    this.#db.sql.prepare("DELETE FROM projects WHERE id = ?").run(id);
  }
}
