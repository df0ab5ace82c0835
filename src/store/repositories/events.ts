import type { BerthEvent, EventInput, EventScope, EventType } from "../../core/events.ts";
import type { Db } from "../db.ts";
import { fromJson, toJson } from "../db.ts";

interface Raw {
  seq: number;
  at: string;
  type: string;
  project: string | null;
  environment: string | null;
  service: string | null;
  actor: string;
  data: string;
}

const toEvent = (r: Raw): BerthEvent => {
  const scope: { project?: string; environment?: string; service?: string } = {};
  if (r.project) scope.project = r.project;
  if (r.environment) scope.environment = r.environment;
  if (r.service) scope.service = r.service;
  return { seq: r.seq, at: r.at, type: r.type as EventType, scope, actor: r.actor, data: fromJson(r.data) };
};

export interface EventQuery {
  readonly afterSeq?: number;
  readonly project?: string;
  readonly environment?: string;
  readonly types?: readonly string[];
  readonly limit?: number;
  /**
   * Restricts to these projects (token scope). Strict: events without a project (global ones:
   * auth, tokens, the daemon, the router as a whole) are not included (issue 17).
   */
  readonly projects?: readonly string[];
  /** Leaves out event types starting with these prefixes (e.g. `auth:` for non-owners). */
  readonly hideTypePrefixes?: readonly string[];
}

/** The append-only event log. Rows are never updated or deleted by Berth. */
export class EventRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  append(event: EventInput, at: string): BerthEvent {
    const scope: EventScope = event.scope ?? {};
    const r = this.#db.sql
      .prepare("INSERT INTO events (at, type, project, environment, service, actor, data) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq")
      .get(at, event.type, scope.project ?? null, scope.environment ?? null, scope.service ?? null, event.actor ?? "system", toJson(event.data)) as {
      seq: number;
    };
    return { seq: r.seq, at, type: event.type, scope, actor: event.actor ?? "system", data: event.data };
  }

  list(q: EventQuery = {}): BerthEvent[] {
    const where = ["seq > ?"];
    const args: (string | number)[] = [q.afterSeq ?? 0];
    if (q.project) {
      where.push("project = ?");
      args.push(q.project);
    }
    if (q.environment) {
      where.push("environment = ?");
      args.push(q.environment);
    }
    if (q.types?.length) {
      where.push(`type IN (${q.types.map(() => "?").join(",")})`);
      args.push(...q.types);
    }
    if (q.projects) {
      where.push(`project IN (${q.projects.map(() => "?").join(",") || "NULL"})`);
      args.push(...q.projects);
    }
    for (const prefix of q.hideTypePrefixes ?? []) {
      where.push("substr(type, 1, ?) <> ?");
      args.push(prefix.length, prefix);
    }
    const limit = Math.max(1, Math.min(q.limit ?? 200, 5000));
    // Newest `limit` events, returned oldest first.
    const rows = this.#db.sql
      .prepare(`SELECT * FROM (SELECT * FROM events WHERE ${where.join(" AND ")} ORDER BY seq DESC LIMIT ${limit}) ORDER BY seq`)
      .all(...args) as unknown as Raw[];
    return rows.map(toEvent);
  }

  lastSeq(): number {
    return (this.#db.sql.prepare("SELECT COALESCE(MAX(seq), 0) AS seq FROM events").get() as { seq: number }).seq;
  }
}
