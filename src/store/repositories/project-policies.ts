/**
 * Per-project policy set by an owner (issue 17): quota overrides and allowed ports. Absent
 * fields mean the defaults of src/core/limits.ts; absent rows mean all defaults.
 */
import type { Db } from "../db.ts";
import { fromJson, toJson } from "../db.ts";

export interface ProjectPolicy {
  readonly instances?: number;
  readonly memoryBytes?: number;
  readonly diskBytes?: number;
  /** Ports this project may declare although they are privileged or reserved. */
  readonly allowedPorts?: readonly number[];
}

export interface ProjectPolicyRow {
  readonly project: string;
  readonly policy: ProjectPolicy;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

export class ProjectPolicyRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  get(project: string): ProjectPolicyRow | undefined {
    const r = this.#db.sql.prepare("SELECT * FROM project_policies WHERE project = ?").get(project) as
      | { project: string; policy: string; updated_at: string; updated_by: string }
      | undefined;
    return r && { project: r.project, policy: fromJson(r.policy), updatedAt: r.updated_at, updatedBy: r.updated_by };
  }

  /** Replaces the project's policy. */
  set(project: string, policy: ProjectPolicy, by: string, now: string): ProjectPolicyRow {
    this.#db.sql
      .prepare("INSERT INTO project_policies (project, policy, updated_at, updated_by) VALUES (?, ?, ?, ?) ON CONFLICT (project) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at, updated_by = excluded.updated_by")
      .run(project, toJson(policy), now, by);
    return { project, policy, updatedAt: now, updatedBy: by };
  }
}
