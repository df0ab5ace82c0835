/**
 * The audit log's rows: appended by the API's onResponse hook, listed by `GET /v1/audit`.
 * There is no update or delete here, and the table's triggers refuse them.
 */
import type { Db } from "../db.ts";

export interface AuditEntryInput {
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly project: string | null;
  readonly address: string;
  readonly status: number;
  readonly requestId: string;
}

export interface AuditEntry extends AuditEntryInput {
  readonly seq: number;
  readonly at: string;
}

export interface AuditQuery {
  /** Only entries after this sequence number. */
  readonly afterSeq?: number;
  readonly actor?: string;
  /** Restricts to these projects (token scope); entries without a project are hidden then. */
  readonly projects?: readonly string[];
  /** Newest `limit` entries (default 100, at most 5000), returned oldest first. */
  readonly limit?: number;
}

interface Raw {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  project: string | null;
  address: string;
  status: number;
  request_id: string;
}

const toEntry = (r: Raw): AuditEntry => ({
  seq: r.seq,
  at: r.at,
  actor: r.actor,
  action: r.action,
  target: r.target,
  project: r.project,
  address: r.address,
  status: r.status,
  requestId: r.request_id,
});

export class AuditRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  append(entry: AuditEntryInput, at: string): AuditEntry {
    const r = this.#db.sql
      .prepare("INSERT INTO audit_log (at, actor, action, target, project, address, status, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq")
      .get(at, entry.actor, entry.action, entry.target, entry.project, entry.address, entry.status, entry.requestId) as { seq: number };
    return { ...entry, seq: r.seq, at };
  }

  list(q: AuditQuery = {}): AuditEntry[] {
    const where = ["seq > ?"];
    const args: (string | number)[] = [q.afterSeq ?? 0];
    if (q.actor) {
      where.push("actor = ?");
      args.push(q.actor);
    }
    if (q.projects) {
      where.push(`project IN (${q.projects.map(() => "?").join(",") || "NULL"})`);
      args.push(...q.projects);
    }
    const limit = Math.max(1, Math.min(q.limit ?? 100, 5000));
    const rows = this.#db.sql
      .prepare(`SELECT * FROM (SELECT * FROM audit_log WHERE ${where.join(" AND ")} ORDER BY seq DESC LIMIT ${limit}) ORDER BY seq`)
      .all(...args) as unknown as Raw[];
    return rows.map(toEntry);
  }
}
