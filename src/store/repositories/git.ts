/**
 * Rows of git auto-deploy: webhook delivery ids (dedupe) and the last synced commit of each
 * followed branch.
 */
import type { Db } from "../db.ts";

export class GitRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  /** Records a delivery id; false when it was seen before (a replay). */
  recordDelivery(projectId: string, deliveryId: string, now: string): boolean {
    const r = this.#db.sql.prepare("INSERT OR IGNORE INTO git_deliveries (project_id, delivery_id, received_at) VALUES (?, ?, ?)").run(projectId, deliveryId, now);
    return Number(r.changes) === 1;
  }

  /** Drops delivery ids older than `before` (ISO time): GitHub redelivers within days, not months. */
  pruneDeliveries(before: string): number {
    return Number(this.#db.sql.prepare("DELETE FROM git_deliveries WHERE received_at < ?").run(before).changes);
  }

  /** The commit last synced for a branch. */
  head(projectId: string, branch: string): string | undefined {
    const r = this.#db.sql.prepare("SELECT commit_sha FROM git_heads WHERE project_id = ? AND branch = ?").get(projectId, branch) as { commit_sha: string } | undefined;
    return r?.commit_sha;
  }

  setHead(projectId: string, branch: string, commit: string, now: string): void {
    this.#db.sql
      .prepare("INSERT INTO git_heads (project_id, branch, commit_sha, synced_at) VALUES (?, ?, ?, ?) ON CONFLICT (project_id, branch) DO UPDATE SET commit_sha = excluded.commit_sha, synced_at = excluded.synced_at")
      .run(projectId, branch, commit, now);
  }
}
