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

  /**
   * Records a delivery (its id and the digest of its signed body); false when either was seen
   * before (a replay). GitHub signs the body only, not the delivery-id header, so a captured
   * delivery re-sent under a fresh id is caught by its body. Kept for good: the signature
   * carries no timestamp, so a forgotten delivery could be replayed later.
   */
  recordDelivery(projectId: string, deliveryId: string, bodySha256: string, now: string): boolean {
    return this.#db.tx(() => {
      const keys = [`id:${deliveryId}`, `body:${bodySha256}`];
      const seen = this.#db.sql.prepare("SELECT 1 FROM git_deliveries WHERE project_id = ? AND delivery_id IN (?, ?)").get(projectId, ...keys);
      if (seen) return false;
      const insert = this.#db.sql.prepare("INSERT INTO git_deliveries (project_id, delivery_id, received_at) VALUES (?, ?, ?)");
      for (const key of keys) insert.run(projectId, key, now);
      return true;
    });
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
