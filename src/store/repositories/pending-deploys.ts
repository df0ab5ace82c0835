/**
 * Rows of the `pending_deploys` table (issue 19): deploys held by an environment's approval gate.
 * The stored request is what an approval replays as an ordinary sync; rows are parsed back with
 * zod, so a row edited by hand or written by another version fails loudly here.
 */
import { z } from "zod";
import { newId } from "../../core/ids.ts";
import type { Db } from "../db.ts";
import { toJson } from "../db.ts";
import { json } from "./json-column.ts";

export const PENDING_DEPLOY_STATES = ["pending", "approved", "rejected", "superseded"] as const;
export type PendingDeployStateName = (typeof PENDING_DEPLOY_STATES)[number];

const SourceRefShape = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("dir"), path: z.string(), revision: z.string() }),
  z.strictObject({ kind: z.literal("git"), url: z.string(), ref: z.string(), revision: z.string() }),
]);

/** A promoted service: the source release's source and artifact (an engine artifact, kept as recorded). */
export const PromotionPin = z.strictObject({
  environment: z.string(),
  release: z.number().int(),
  source: SourceRefShape,
  artifact: z.looseObject({ kind: z.string(), digest: z.string() }),
});
export type PromotionPin = z.infer<typeof PromotionPin>;

/** Where a held deploy came from, with what its replay needs beyond the blueprint text. */
export const HeldOrigin = z.discriminatedUnion("via", [
  z.strictObject({ via: z.literal("sync") }),
  z.strictObject({ via: z.literal("push"), url: z.string(), branch: z.string(), defaultBranch: z.string(), commit: z.string() }),
  z.strictObject({ via: z.literal("promote"), from: z.string(), services: z.array(z.string()), pins: z.record(z.string(), PromotionPin) }),
]);
export type HeldOrigin = z.infer<typeof HeldOrigin>;

/** What an approval replays. `revisions`: each service's source revision when it was requested. */
export const HeldRequest = z.strictObject({
  project: z.string().optional(),
  blueprintText: z.string(),
  file: z.string(),
  sourceDir: z.string(),
  retry: z.boolean(),
  force: z.boolean(),
  origin: HeldOrigin,
  revisions: z.record(z.string(), z.string()),
});
export type HeldRequest = z.infer<typeof HeldRequest>;


const Raw = z.object({
  id: z.string(),
  project: z.string(),
  environment: z.string(),
  via: z.enum(["sync", "push", "promote"]),
  summary: z.string(),
  request: json(HeldRequest),
  state: z.enum(PENDING_DEPLOY_STATES),
  requested_by: z.string(),
  requested_at: z.string(),
  decided_by: z.string().nullable(),
  decided_at: z.string().nullable(),
  superseded_by: z.string().nullable(),
  reason: z.string().nullable(),
  generation: z.number().int().nullable(),
});

export interface PendingDeployRow {
  readonly id: string;
  readonly project: string;
  readonly environment: string;
  readonly via: "sync" | "push" | "promote";
  readonly summary: string;
  readonly request: HeldRequest;
  readonly state: PendingDeployStateName;
  readonly requestedBy: string;
  readonly requestedAt: string;
  readonly decidedBy: string | null;
  readonly decidedAt: string | null;
  readonly supersededBy: string | null;
  readonly reason: string | null;
  readonly generation: number | null;
}

function toRow(raw: unknown): PendingDeployRow {
  const r = Raw.parse(raw);
  return {
    id: r.id,
    project: r.project,
    environment: r.environment,
    via: r.via,
    summary: r.summary,
    request: r.request,
    state: r.state,
    requestedBy: r.requested_by,
    requestedAt: r.requested_at,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at,
    supersededBy: r.superseded_by,
    reason: r.reason,
    generation: r.generation,
  };
}

export interface PendingDeployQuery {
  readonly project?: string;
  readonly environment?: string;
  readonly states?: readonly PendingDeployStateName[];
  /** Token scope: only these projects. */
  readonly projects?: readonly string[];
  /** Only rows requested or decided at or after this time. */
  readonly since?: string;
  readonly limit?: number;
}

export class PendingDeployRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  /**
   * Records a held deploy and marks `supersede` (the pending ones it replaces, see
   * deploy/approval.ts) superseded by it, in one transaction.
   */
  create(input: { project: string; environment: string; summary: string; request: HeldRequest; requestedBy: string; supersede: readonly string[] }, now: string): PendingDeployRow {
    const request = HeldRequest.parse(input.request);
    return this.#db.tx(() => {
      const id = newId("pdep");
      this.#db.sql
        .prepare("INSERT INTO pending_deploys (id, project, environment, via, summary, request, state, requested_by, requested_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)")
        .run(id, input.project, input.environment, request.origin.via, input.summary, toJson(request), input.requestedBy, now);
      const mark = this.#db.sql.prepare("UPDATE pending_deploys SET state = 'superseded', superseded_by = ?, decided_at = ? WHERE id = ? AND state = 'pending'");
      for (const old of input.supersede) mark.run(id, now, old);
      return this.byId(id)!;
    });
  }

  byId(id: string): PendingDeployRow | undefined {
    const r = this.#db.sql.prepare("SELECT * FROM pending_deploys WHERE id = ?").get(id);
    return r ? toRow(r) : undefined;
  }

  /** Newest first. */
  list(q: PendingDeployQuery = {}): PendingDeployRow[] {
    const where: string[] = [];
    const args: string[] = [];
    if (q.project !== undefined) {
      where.push("project = ?");
      args.push(q.project);
    }
    if (q.environment !== undefined) {
      where.push("environment = ?");
      args.push(q.environment);
    }
    for (const [column, values] of [["state", q.states], ["project", q.projects]] as const) {
      if (!values) continue;
      where.push(values.length ? `${column} IN (${values.map(() => "?").join(", ")})` : "0");
      args.push(...values);
    }
    if (q.since !== undefined) {
      where.push("(state = 'pending' OR requested_at >= ? OR decided_at >= ?)");
      args.push(q.since, q.since);
    }
    const limit = Math.max(1, Math.min(q.limit ?? 50, 500));
    const sql = `SELECT * FROM pending_deploys${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY requested_at DESC, rowid DESC LIMIT ${limit}`;
    return this.#db.sql.prepare(sql).all(...args).map(toRow);
  }

  /**
   * Decides a pending deploy. Only a pending one can be decided: returns false when it was not
   * (decided or superseded meanwhile), so the caller's transaction can roll back.
   */
  decide(id: string, decision: { state: "approved" | "rejected"; by: string; reason?: string | null; generation?: number | null }, now: string): boolean {
    const r = this.#db.sql
      .prepare("UPDATE pending_deploys SET state = ?, decided_by = ?, decided_at = ?, reason = ?, generation = ? WHERE id = ? AND state = 'pending'")
      .run(decision.state, decision.by, now, decision.reason ?? null, decision.generation ?? null, id);
    return Number(r.changes) > 0;
  }
}
