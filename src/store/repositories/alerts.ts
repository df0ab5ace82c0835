/** Alerts (issue 18): one row per occurrence; at most one open (pending or firing) per dedup key. */
import { newId } from "../../core/ids.ts";
import type { Db } from "../db.ts";

export type AlertState = "pending" | "firing" | "resolved";

export interface AlertRow {
  readonly id: string;
  readonly dedupKey: string;
  readonly rule: string;
  readonly severity: "critical" | "warning" | "info";
  readonly project: string;
  readonly environment: string;
  readonly service: string;
  readonly state: AlertState;
  readonly summary: string;
  readonly value: number | null;
  readonly startedAt: string;
  readonly firedAt: string | null;
  readonly resolvedAt: string | null;
  readonly updatedAt: string;
}

interface Raw {
  id: string;
  dedup_key: string;
  rule: string;
  severity: AlertRow["severity"];
  project: string;
  environment: string;
  service: string;
  state: AlertState;
  summary: string;
  value: number | null;
  started_at: string;
  fired_at: string | null;
  resolved_at: string | null;
  updated_at: string;
}

const toRow = (r: Raw): AlertRow => ({
  id: r.id,
  dedupKey: r.dedup_key,
  rule: r.rule,
  severity: r.severity,
  project: r.project,
  environment: r.environment,
  service: r.service,
  state: r.state,
  summary: r.summary,
  value: r.value,
  startedAt: r.started_at,
  firedAt: r.fired_at,
  resolvedAt: r.resolved_at,
  updatedAt: r.updated_at,
});

export class AlertRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  open(): AlertRow[] {
    return (this.#db.sql.prepare("SELECT * FROM alerts WHERE state != 'resolved' ORDER BY started_at").all() as unknown as Raw[]).map(toRow);
  }

  openByKey(dedupKey: string): AlertRow | undefined {
    const r = this.#db.sql.prepare("SELECT * FROM alerts WHERE dedup_key = ? AND state != 'resolved'").get(dedupKey) as Raw | undefined;
    return r ? toRow(r) : undefined;
  }

  byId(id: string): AlertRow | undefined {
    const r = this.#db.sql.prepare("SELECT * FROM alerts WHERE id = ?").get(id) as Raw | undefined;
    return r ? toRow(r) : undefined;
  }

  create(a: Omit<AlertRow, "id" | "state" | "firedAt" | "resolvedAt" | "updatedAt">, now: string): AlertRow {
    const id = newId("alert");
    this.#db.sql
      .prepare("INSERT INTO alerts (id, dedup_key, rule, severity, project, environment, service, state, summary, value, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)")
      .run(id, a.dedupKey, a.rule, a.severity, a.project, a.environment, a.service, a.summary, a.value, a.startedAt, now);
    return this.byId(id)!;
  }

  update(id: string, change: { state?: AlertState; summary?: string; value?: number | null }, now: string): AlertRow {
    const cur = this.byId(id)!;
    const state = change.state ?? cur.state;
    const firedAt = state === "firing" && !cur.firedAt ? now : cur.firedAt;
    const resolvedAt = state === "resolved" && !cur.resolvedAt ? now : cur.resolvedAt;
    this.#db.sql
      .prepare("UPDATE alerts SET state = ?, summary = ?, value = ?, fired_at = ?, resolved_at = ?, updated_at = ? WHERE id = ?")
      .run(state, change.summary ?? cur.summary, change.value !== undefined ? change.value : cur.value, firedAt, resolvedAt, now, id);
    return this.byId(id)!;
  }

  /** Drops a pending alert that never fired (its condition cleared within `for`). */
  discard(id: string): void {
    this.#db.sql.prepare("DELETE FROM alerts WHERE id = ? AND state = 'pending'").run(id);
  }

  /** Newest first; `projects` limits to those projects (scoped tokens). */
  list(filter: { projects?: readonly string[]; project?: string; environment?: string; state?: AlertState | "open"; limit?: number }): AlertRow[] {
    const where: string[] = ["1 = 1"];
    const args: string[] = [];
    if (filter.projects) {
      where.push(`project IN (${filter.projects.map(() => "?").join(", ") || "NULL"})`);
      args.push(...filter.projects);
    }
    if (filter.project) {
      where.push("project = ?");
      args.push(filter.project);
    }
    if (filter.environment) {
      where.push("environment = ?");
      args.push(filter.environment);
    }
    if (filter.state === "open") where.push("state != 'resolved'");
    else if (filter.state) {
      where.push("state = ?");
      args.push(filter.state);
    }
    const limit = Math.min(Math.max(1, filter.limit ?? 100), 5000);
    return (this.#db.sql.prepare(`SELECT * FROM alerts WHERE ${where.join(" AND ")} ORDER BY started_at DESC LIMIT ${limit}`).all(...args) as unknown as Raw[]).map(toRow);
  }

  /** Resolved alerts older than `before` are deleted (retention). */
  prune(before: string): void {
    this.#db.sql.prepare("DELETE FROM alerts WHERE state = 'resolved' AND resolved_at < ?").run(before);
  }
}
