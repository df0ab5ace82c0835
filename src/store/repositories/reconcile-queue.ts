import type { Db } from "../db.ts";

export interface QueueEntry {
  readonly environmentId: string;
  readonly attempts: number;
  readonly notBefore: number;
}

/**
 * The persistent reconcile queue: an environment id per row. Entry points enqueue; the
 * reconciler takes the due ones. Persisting it means a restarted daemon loses no requested work.
 */
export class ReconcileQueue {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  /** Enqueues (or makes due now) an environment; resets its retry state. */
  enqueue(environmentId: string, now: string): void {
    this.#db.sql
      .prepare(
        "INSERT INTO reconcile_queue (environment_id, requested_at, attempts, not_before) VALUES (?, ?, 0, 0) ON CONFLICT (environment_id) DO UPDATE SET requested_at = excluded.requested_at, attempts = 0, not_before = 0",
      )
      .run(environmentId, now);
  }

  due(nowMs: number): QueueEntry[] {
    return (
      this.#db.sql
        .prepare("SELECT environment_id, attempts, not_before FROM reconcile_queue WHERE not_before <= ? ORDER BY requested_at")
        .all(nowMs) as { environment_id: string; attempts: number; not_before: number }[]
    ).map((r) => ({ environmentId: r.environment_id, attempts: r.attempts, notBefore: r.not_before }));
  }

  /** Earliest time anything becomes due, for the worker's wake-up. */
  nextDueAt(): number | undefined {
    const r = this.#db.sql.prepare("SELECT MIN(not_before) AS t FROM reconcile_queue").get() as { t: number | null };
    return r.t ?? undefined;
  }

  /** Removes the entry only if it was not re-requested after `requestedBefore` started. */
  done(environmentId: string, takenAt: string): void {
    this.#db.sql.prepare("DELETE FROM reconcile_queue WHERE environment_id = ? AND requested_at <= ?").run(environmentId, takenAt);
  }

  retryLater(environmentId: string, attempts: number, notBefore: number): void {
    this.#db.sql.prepare("UPDATE reconcile_queue SET attempts = ?, not_before = ? WHERE environment_id = ?").run(attempts, notBefore, environmentId);
  }

  size(): number {
    return (this.#db.sql.prepare("SELECT COUNT(*) AS n FROM reconcile_queue").get() as { n: number }).n;
  }
}
