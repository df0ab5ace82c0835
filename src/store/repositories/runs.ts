import { newId } from "../../core/ids.ts";
import type { Db } from "../db.ts";

export type RunStatus = "running" | "succeeded" | "failed" | "timed-out";

export interface RunRow {
  readonly id: string;
  readonly serviceId: string | null;
  readonly kind: string;
  readonly status: RunStatus;
  readonly command: string;
  readonly exitCode: number | null;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly detail: string | null;
}

interface Raw {
  id: string;
  service_id: string | null;
  kind: string;
  status: RunStatus;
  command: string;
  exit_code: number | null;
  started_at: string;
  finished_at: string | null;
  detail: string | null;
}
const toRow = (r: Raw): RunRow => ({
  id: r.id,
  serviceId: r.service_id,
  kind: r.kind,
  status: r.status,
  command: r.command,
  exitCode: r.exit_code,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  detail: r.detail,
});

/** Runs of pre-deploy commands and one-off tasks (cron runs have their own table). */
export class RunRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  start(input: { serviceId: string; kind: string; command: string }, now: string): RunRow {
    const id = newId("run");
    this.#db.sql
      .prepare("INSERT INTO runs (id, service_id, kind, status, command, started_at) VALUES (?, ?, ?, 'running', ?, ?)")
      .run(id, input.serviceId, input.kind, input.command, now);
    return this.byId(id)!;
  }

  finish(id: string, status: RunStatus, exitCode: number | null, detail: string | null, now: string): void {
    this.#db.sql.prepare("UPDATE runs SET status = ?, exit_code = ?, detail = ?, finished_at = ? WHERE id = ?").run(status, exitCode, detail, now, id);
  }

  byId(id: string): RunRow | undefined {
    const r = this.#db.sql.prepare("SELECT * FROM runs WHERE id = ?").get(id) as Raw | undefined;
    return r && toRow(r);
  }

  list(serviceId: string, limit = 50): RunRow[] {
    return (
      this.#db.sql.prepare("SELECT * FROM runs WHERE service_id = ? ORDER BY started_at DESC LIMIT ?").all(serviceId, limit) as unknown as Raw[]
    ).map(toRow);
  }

  /** Did a successful run of this kind ever happen for the service? (initialDeploy runs once.) */
  hasSucceeded(serviceId: string, kind: string): boolean {
    return !!this.#db.sql.prepare("SELECT 1 FROM runs WHERE service_id = ? AND kind = ? AND status = 'succeeded'").get(serviceId, kind);
  }
}
