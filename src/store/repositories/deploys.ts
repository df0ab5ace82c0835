import { newId } from "../../core/ids.ts";
import type { Db } from "../db.ts";
import { fromJson, toJson } from "../db.ts";

export type DeployStatus = "queued" | "running" | "live" | "failed" | "rolled-back" | "superseded";

export interface DeployStepRecord {
  readonly step: string;
  readonly detail: string;
  readonly ms: number;
  readonly at: string;
}

export interface DeployRow {
  readonly id: string;
  readonly environmentId: string;
  readonly serviceId: string;
  readonly service: string;
  readonly releaseId: string | null;
  readonly releaseNumber: number | null;
  readonly status: DeployStatus;
  readonly step: string | null;
  readonly reason: string | null;
  readonly steps: readonly DeployStepRecord[];
  readonly actor: string;
  readonly createdAt: string;
  readonly finishedAt: string | null;
}

interface Raw {
  id: string;
  environment_id: string;
  service_id: string;
  service: string;
  release_id: string | null;
  release_number: number | null;
  status: DeployStatus;
  step: string | null;
  reason: string | null;
  steps: string;
  actor: string;
  created_at: string;
  finished_at: string | null;
}
const toRow = (r: Raw): DeployRow => ({
  id: r.id,
  environmentId: r.environment_id,
  serviceId: r.service_id,
  service: r.service,
  releaseId: r.release_id,
  releaseNumber: r.release_number,
  status: r.status,
  step: r.step,
  reason: r.reason,
  steps: fromJson(r.steps),
  actor: r.actor,
  createdAt: r.created_at,
  finishedAt: r.finished_at,
});

const SELECT =
  "SELECT d.*, s.name AS service, r.number AS release_number FROM deploys d JOIN services s ON s.id = d.service_id LEFT JOIN releases r ON r.id = d.release_id";

export class DeployRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  create(input: { environmentId: string; serviceId: string; releaseId: string | null; actor: string }, now: string): DeployRow {
    const id = newId("dep");
    this.#db.sql
      .prepare("INSERT INTO deploys (id, environment_id, service_id, release_id, status, actor, created_at) VALUES (?, ?, ?, ?, 'running', ?, ?)")
      .run(id, input.environmentId, input.serviceId, input.releaseId, input.actor, now);
    return this.byId(id)!;
  }

  /** Appends a step record; the deploy's current step follows it. */
  addStep(id: string, record: DeployStepRecord): void {
    this.#db.tx(() => {
      const row = this.byId(id);
      if (!row) return;
      this.#db.sql.prepare("UPDATE deploys SET steps = ?, step = ? WHERE id = ?").run(toJson([...row.steps, record]), record.step, id);
    });
  }

  setRelease(id: string, releaseId: string): void {
    this.#db.sql.prepare("UPDATE deploys SET release_id = ? WHERE id = ?").run(releaseId, id);
  }

  finish(id: string, status: DeployStatus, reason: string | null, now: string): void {
    this.#db.sql.prepare("UPDATE deploys SET status = ?, reason = ?, finished_at = ? WHERE id = ?").run(status, reason, now, id);
  }

  /** Deploys left `running` by a daemon that died: the next reconcile redoes their work. */
  abandonRunning(now: string): number {
    const r = this.#db.sql
      .prepare("UPDATE deploys SET status = 'failed', reason = 'interrupted: the daemon stopped during the deploy', finished_at = ? WHERE status = 'running'")
      .run(now);
    return Number(r.changes);
  }

  byId(id: string): DeployRow | undefined {
    const r = this.#db.sql.prepare(`${SELECT} WHERE d.id = ?`).get(id) as Raw | undefined;
    return r && toRow(r);
  }

  list(filter: { environmentId?: string; serviceId?: string; limit?: number } = {}): DeployRow[] {
    const where: string[] = [];
    const args: string[] = [];
    if (filter.environmentId) {
      where.push("d.environment_id = ?");
      args.push(filter.environmentId);
    }
    if (filter.serviceId) {
      where.push("d.service_id = ?");
      args.push(filter.serviceId);
    }
    const sql = `${SELECT}${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY d.created_at DESC, d.rowid DESC LIMIT ${Math.max(1, Math.min(filter.limit ?? 50, 500))}`;
    return (this.#db.sql.prepare(sql).all(...args) as unknown as Raw[]).map(toRow);
  }
}
