/** The autoscaler's decision history per service (issue 18): the stabilization window and the last change survive a restart. */
import type { Db } from "../db.ts";

export interface AutoscaleHistory {
  readonly recommendations: readonly { readonly at: number; readonly replicas: number }[];
  readonly lastChangeAt?: number;
}

export class AutoscaleRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  load(serviceId: string): AutoscaleHistory {
    const r = this.#db.sql.prepare("SELECT history, last_change_at FROM autoscale_state WHERE service_id = ?").get(serviceId) as { history: string; last_change_at: number } | undefined;
    if (!r) return { recommendations: [] };
    return { recommendations: JSON.parse(r.history) as AutoscaleHistory["recommendations"], ...(r.last_change_at > 0 ? { lastChangeAt: r.last_change_at } : {}) };
  }

  save(serviceId: string, replicas: number, h: AutoscaleHistory): void {
    this.#db.sql
      .prepare("INSERT INTO autoscale_state (service_id, replicas, last_change_at, history) VALUES (?, ?, ?, ?) ON CONFLICT (service_id) DO UPDATE SET replicas = excluded.replicas, last_change_at = excluded.last_change_at, history = excluded.history")
      .run(serviceId, replicas, h.lastChangeAt ?? 0, JSON.stringify(h.recommendations));
  }
}
