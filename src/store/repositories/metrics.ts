/**
 * Metric points (issue 18): one row per series and interval. Raw points are 10 s; `rollup`
 * merges raw points older than a cut-off into 5-minute points (counts and sums add, maxima max,
 * histograms merge) and `prune` drops what is past retention.
 */
import type { Db } from "../db.ts";

export interface SeriesKey {
  readonly project: string;
  readonly environment: string;
  readonly service: string;
  /** '' for the whole service. */
  readonly instance: string;
  readonly name: string;
}

export interface MetricPoint extends SeriesKey {
  readonly resS: number;
  /** Interval start, epoch seconds. */
  readonly ts: number;
  readonly count: number;
  readonly sum: number;
  readonly max: number;
  readonly hist?: Record<string, number>;
}

interface Raw {
  project: string;
  environment: string;
  service: string;
  instance: string;
  name: string;
  res_s: number;
  ts: number;
  count: number;
  sum: number;
  max: number;
  hist: string | null;
}

const toPoint = (r: Raw): MetricPoint => ({
  project: r.project,
  environment: r.environment,
  service: r.service,
  instance: r.instance,
  name: r.name,
  resS: r.res_s,
  ts: r.ts,
  count: r.count,
  sum: r.sum,
  max: r.max,
  ...(r.hist ? { hist: JSON.parse(r.hist) as Record<string, number> } : {}),
});

export interface PointQuery {
  readonly project: string;
  readonly environment: string;
  readonly service: string;
  /** Absent: the service-level series (''); `*`: every instance's series. */
  readonly instance?: string;
  readonly names: readonly string[];
  /** Epoch seconds, inclusive. */
  readonly fromS: number;
  readonly toS?: number;
}

export class MetricsRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  /** Adds points (merging into an existing point of the same key and interval). */
  add(points: readonly MetricPoint[]): void {
    if (points.length === 0) return;
    const read = this.#db.sql.prepare("SELECT hist FROM metric_points WHERE project = ? AND environment = ? AND service = ? AND instance = ? AND name = ? AND res_s = ? AND ts = ?");
    const upsert = this.#db.sql.prepare(
      `INSERT INTO metric_points (project, environment, service, instance, name, res_s, ts, count, sum, max, hist) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET count = count + excluded.count, sum = sum + excluded.sum, max = MAX(max, excluded.max), hist = excluded.hist`,
    );
    this.#db.tx(() => {
      for (const p of points) {
        let hist: string | null = null;
        if (p.hist) {
          const prev = read.get(p.project, p.environment, p.service, p.instance, p.name, p.resS, p.ts) as { hist: string | null } | undefined;
          const merged: Record<string, number> = prev?.hist ? (JSON.parse(prev.hist) as Record<string, number>) : {};
          for (const [k, v] of Object.entries(p.hist)) merged[k] = (merged[k] ?? 0) + v;
          hist = JSON.stringify(merged);
        }
        upsert.run(p.project, p.environment, p.service, p.instance, p.name, p.resS, p.ts, p.count, p.sum, p.max, hist);
      }
    });
  }

  /** Points of the named series in a time range, at every resolution, oldest first. */
  query(q: PointQuery): MetricPoint[] {
    const names = q.names.map(() => "?").join(", ");
    const inst = q.instance === "*" ? "" : "AND instance = ?";
    const args: (string | number)[] = [q.project, q.environment, q.service, ...q.names, q.fromS, q.toS ?? Number.MAX_SAFE_INTEGER];
    if (q.instance !== "*") args.splice(3, 0, q.instance ?? "");
    const rows = this.#db.sql
      .prepare(`SELECT * FROM metric_points WHERE project = ? AND environment = ? AND service = ? ${inst} AND name IN (${names}) AND ts >= ? AND ts <= ? ORDER BY ts`)
      .all(...args) as unknown as Raw[];
    return rows.map(toPoint);
  }

  /** Service-level points (instance '') of every service of an environment in a time range, oldest first. */
  queryEnvironment(q: { readonly project: string; readonly environment: string; readonly names: readonly string[]; readonly fromS: number; readonly toS: number }): MetricPoint[] {
    const names = q.names.map(() => "?").join(", ");
    const rows = this.#db.sql
      .prepare(`SELECT * FROM metric_points WHERE project = ? AND environment = ? AND instance = '' AND ts >= ? AND ts <= ? AND name IN (${names}) ORDER BY ts`)
      .all(q.project, q.environment, q.fromS, q.toS, ...q.names) as unknown as Raw[];
    return rows.map(toPoint);
  }

  /**
   * Service-level points of every service of an environment in a time range, summed per service
   * and series in SQL (one point each: counts and sums added, the max kept; no histograms) — the
   * alert rules' read, which would otherwise carry every raw point of every service into JS.
   */
  totalsByService(q: { readonly project: string; readonly environment: string; readonly names: readonly string[]; readonly fromS: number; readonly toS: number }): MetricPoint[] {
    const names = q.names.map(() => "?").join(", ");
    const rows = this.#db.sql
      .prepare(
        `SELECT service, name, SUM(count) AS count, SUM(sum) AS sum, MAX(max) AS max FROM metric_points
         WHERE project = ? AND environment = ? AND instance = '' AND ts >= ? AND ts <= ? AND name IN (${names}) GROUP BY service, name`,
      )
      .all(q.project, q.environment, q.fromS, q.toS, ...q.names) as unknown as { service: string; name: string; count: number; sum: number; max: number }[];
    return rows.map((r) => ({ project: q.project, environment: q.environment, service: r.service, instance: "", name: r.name, resS: 0, ts: q.fromS, count: r.count, sum: r.sum, max: r.max }));
  }

  /** Services (and cron jobs, datastores) with points since `fromS`, for listings and /metrics. */
  seriesSince(fromS: number): SeriesKey[] {
    return (this.#db.sql.prepare("SELECT DISTINCT project, environment, service, instance, name FROM metric_points WHERE ts >= ?").all(fromS) as unknown as SeriesKey[]).map((r) => ({ ...r }));
  }

  /** Merges points of resolution `fromRes` older than `beforeS` into `toRes` points, then deletes them. */
  rollup(fromRes: number, toRes: number, beforeS: number): number {
    return this.#db.tx(() => {
      const rows = this.#db.sql.prepare("SELECT * FROM metric_points WHERE res_s = ? AND ts < ?").all(fromRes, beforeS) as unknown as Raw[];
      const merged = new Map<string, MetricPoint & { hist?: Record<string, number> }>();
      for (const r of rows.map(toPoint)) {
        const ts = Math.floor(r.ts / toRes) * toRes;
        const key = `${r.project}\n${r.environment}\n${r.service}\n${r.instance}\n${r.name}\n${ts}`;
        const m = merged.get(key);
        if (!m) {
          merged.set(key, { ...r, resS: toRes, ts, ...(r.hist ? { hist: { ...r.hist } } : {}) });
          continue;
        }
        let hist = m.hist;
        if (r.hist) {
          hist = { ...(hist ?? {}) };
          for (const [k, v] of Object.entries(r.hist)) hist[k] = (hist[k] ?? 0) + v;
        }
        merged.set(key, { ...m, count: m.count + r.count, sum: m.sum + r.sum, max: Math.max(m.max, r.max), ...(hist ? { hist } : {}) });
      }
      this.add([...merged.values()]);
      this.#db.sql.prepare("DELETE FROM metric_points WHERE res_s = ? AND ts < ?").run(fromRes, beforeS);
      return rows.length;
    });
  }

  /** Deletes points of a resolution older than `beforeS`. */
  prune(resS: number, beforeS: number): number {
    return Number(this.#db.sql.prepare("DELETE FROM metric_points WHERE res_s = ? AND ts < ?").run(resS, beforeS).changes);
  }
}
