/**
 * Rows of the `operations` table (issue 15): recorded intent and its outcome. Rows are parsed
 * back with zod — a row written by an older daemon, or edited by hand, fails loudly here
 * instead of flowing through the runner as a wrong shape. The runner (reconcile/operations.ts)
 * is the only writer of state transitions; entry points only `create`.
 */
import { z } from "zod";
import { newId } from "../../core/ids.ts";
import type { Db } from "../db.ts";
import { toJson } from "../db.ts";
import { json } from "./json-column.ts";

export const OPERATION_STATES = ["pending", "running", "succeeded", "failed", "cancelled"] as const;
export type OperationState = (typeof OPERATION_STATES)[number];
/** States an operation never leaves. */
export const FINISHED: readonly OperationState[] = ["succeeded", "failed", "cancelled"];

const Progress = z.object({
  step: z.string(),
  detail: z.string(),
  done: z.number().optional(),
  total: z.number().optional(),
  at: z.string(),
});
export type OperationProgress = z.infer<typeof Progress>;

const ErrorShape = z.object({ code: z.string(), message: z.string(), hint: z.string() });
export type OperationError = z.infer<typeof ErrorShape>;


const Raw = z.object({
  id: z.string(),
  kind: z.string(),
  key: z.string(),
  project: z.string().nullable(),
  environment: z.string().nullable(),
  state: z.enum(OPERATION_STATES),
  params: json(z.unknown()),
  progress: json(Progress).nullable(),
  result: json(z.unknown()).nullable(),
  error: json(ErrorShape).nullable(),
  attempts: z.number().int(),
  cancel_requested: z.number().int(),
  created_by: z.string(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  updated_at: z.string(),
  finished_at: z.string().nullable(),
});

export interface OperationRow {
  readonly id: string;
  readonly kind: string;
  /** One operation at a time runs per key. */
  readonly key: string;
  readonly project: string | null;
  readonly environment: string | null;
  readonly state: OperationState;
  /** Raw JSON; the handler parses it with its own schema. */
  readonly params: unknown;
  readonly progress: OperationProgress | null;
  readonly result: unknown;
  readonly error: OperationError | null;
  /** How many times it was started (a resumed operation counts each start). */
  readonly attempts: number;
  readonly cancelRequested: boolean;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly updatedAt: string;
  readonly finishedAt: string | null;
}

function toRow(raw: unknown): OperationRow {
  const r = Raw.parse(raw);
  return {
    id: r.id,
    kind: r.kind,
    key: r.key,
    project: r.project,
    environment: r.environment,
    state: r.state,
    params: r.params,
    progress: r.progress,
    result: r.result ?? null,
    error: r.error,
    attempts: r.attempts,
    cancelRequested: r.cancel_requested !== 0,
    createdBy: r.created_by,
    createdAt: r.created_at,
    startedAt: r.started_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
  };
}

export interface NewOperation {
  readonly kind: string;
  readonly key: string;
  readonly project: string | null;
  readonly environment: string | null;
  readonly params: unknown;
  readonly createdBy: string;
}

export interface OperationQuery {
  readonly project?: string;
  readonly environment?: string;
  readonly kind?: string;
  readonly states?: readonly OperationState[];
  /** Token scope: only these projects (daemon-wide operations are then hidden). */
  readonly projects?: readonly string[];
  readonly limit?: number;
}

export class OperationRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  create(input: NewOperation, now: string): OperationRow {
    const id = newId("op");
    this.#db.sql
      .prepare(
        "INSERT INTO operations (id, kind, key, project, environment, state, params, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
      )
      .run(id, input.kind, input.key, input.project, input.environment, toJson(input.params), input.createdBy, now, now);
    return this.byId(id)!;
  }

  /** The oldest operation of this kind and key, with exactly these params, in one of `states` (entry points dedupe on it). */
  findSame(kind: string, key: string, params: unknown, states: readonly ("pending" | "running")[]): OperationRow | undefined {
    const r = this.#db.sql
      .prepare(`SELECT * FROM operations WHERE kind = ? AND key = ? AND params = ? AND state IN (${states.map(() => "?").join(", ")}) ORDER BY rowid LIMIT 1`)
      .get(kind, key, toJson(params), ...states);
    return r ? toRow(r) : undefined;
  }

  byId(id: string): OperationRow | undefined {
    const r = this.#db.sql.prepare("SELECT * FROM operations WHERE id = ?").get(id);
    return r ? toRow(r) : undefined;
  }

  /** Newest first. */
  list(q: OperationQuery = {}): OperationRow[] {
    const where: string[] = [];
    const args: string[] = [];
    const eq = (column: string, value: string | undefined) => {
      if (value === undefined) return;
      where.push(`${column} = ?`);
      args.push(value);
    };
    eq("project", q.project);
    eq("environment", q.environment);
    eq("kind", q.kind);
    const inList = (column: string, values: readonly string[] | undefined) => {
      if (!values) return;
      where.push(values.length ? `${column} IN (${values.map(() => "?").join(", ")})` : "0");
      args.push(...values);
    };
    inList("state", q.states);
    inList("project", q.projects);
    const limit = Math.max(1, Math.min(q.limit ?? 50, 1000));
    const sql = `SELECT * FROM operations${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY rowid DESC LIMIT ${limit}`;
    return this.#db.sql.prepare(sql).all(...args).map(toRow);
  }

  /**
   * Atomically takes the oldest pending operation whose key has nothing running and whose kind
   * is one of `kinds`, and marks it running. One daemon owns a data dir, but the claim is a
   * single statement anyway, so two runners could never take the same key.
   */
  claimNext(kinds: readonly string[], now: string): OperationRow | undefined {
    if (kinds.length === 0) return undefined;
    const r = this.#db.sql
      .prepare(
        `UPDATE operations SET state = 'running', attempts = attempts + 1, started_at = COALESCE(started_at, ?), updated_at = ?
         WHERE id = (
           SELECT o.id FROM operations o
           WHERE o.state = 'pending' AND o.kind IN (${kinds.map(() => "?").join(", ")})
             AND NOT EXISTS (SELECT 1 FROM operations r WHERE r.key = o.key AND r.state = 'running')
           ORDER BY o.rowid LIMIT 1)
         RETURNING *`,
      )
      .get(now, now, ...kinds);
    return r ? toRow(r) : undefined;
  }

  setProgress(id: string, progress: OperationProgress): void {
    this.#db.sql.prepare("UPDATE operations SET progress = ?, updated_at = ? WHERE id = ? AND state = 'running'").run(toJson(Progress.parse(progress)), progress.at, id);
  }

  /** Ends an operation. Only a pending or running one can end; returns whether it did. */
  finish(id: string, state: "succeeded" | "failed" | "cancelled", outcome: { result?: unknown; error?: OperationError }, now: string): boolean {
    const r = this.#db.sql
      .prepare("UPDATE operations SET state = ?, result = ?, error = ?, finished_at = ?, updated_at = ? WHERE id = ? AND state IN ('pending', 'running')")
      .run(state, outcome.result === undefined ? null : toJson(outcome.result), outcome.error ? toJson(outcome.error) : null, now, now, id);
    return Number(r.changes) > 0;
  }

  /** A running operation goes back to pending (resumed by the next claim). */
  requeue(id: string, now: string): void {
    this.#db.sql.prepare("UPDATE operations SET state = 'pending', updated_at = ? WHERE id = ? AND state = 'running'").run(now, id);
  }

  requestCancel(id: string, now: string): void {
    this.#db.sql.prepare("UPDATE operations SET cancel_requested = 1, updated_at = ? WHERE id = ?").run(now, id);
  }

  /** Operations in a state (start-up recovery reads the `running` ones a killed daemon left). */
  inState(state: OperationState): OperationRow[] {
    return this.#db.sql.prepare("SELECT * FROM operations WHERE state = ? ORDER BY rowid").all(state).map(toRow);
  }

  /** Deletes the succeeded operations of this kind and key but `keep` (routine work leaves one row). */
  pruneSucceeded(kind: string, key: string, keep: string): number {
    const r = this.#db.sql.prepare("DELETE FROM operations WHERE kind = ? AND key = ? AND state = 'succeeded' AND id <> ?").run(kind, key, keep);
    return Number(r.changes);
  }

  /** Deletes finished operations beyond the newest `keep` (history, not intent). */
  prune(keep: number): number {
    const r = this.#db.sql
      .prepare(
        "DELETE FROM operations WHERE state IN ('succeeded', 'failed', 'cancelled') AND rowid NOT IN (SELECT rowid FROM operations WHERE state IN ('succeeded', 'failed', 'cancelled') ORDER BY rowid DESC LIMIT ?)",
      )
      .run(keep);
    return Number(r.changes);
  }
}
