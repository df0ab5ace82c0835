/**
 * The metrics collector: counters, gauges and histograms accumulate in memory per 10-second
 * interval and are written to the store on `flush()` (every interval). It also keeps running
 * totals since the daemon started, which `/metrics` exposes in Prometheus format. Maintenance
 * rolls raw points older than `rawRetentionMs` into 5-minute points and drops those older than
 * `rollupRetentionMs` (docs/design/observability.md).
 */
import type { Clock } from "../../core/clock.ts";
import type { MetricPoint, MetricsRepository, SeriesKey } from "../../store/repositories/metrics.ts";
import { bucketOf, type Hist, mergeInto } from "./histogram.ts";

export interface CollectorOptions {
  readonly repo: MetricsRepository;
  readonly clock: Clock;
  /** Raw interval. Default 10 s. */
  readonly resolutionS?: number;
  /** Rolled-up interval. Default 300 s. */
  readonly rollupS?: number;
  /** Raw points kept this long, then rolled up. Default 24 h. */
  readonly rawRetentionMs?: number;
  /** Rolled-up points kept this long. Default 30 days. */
  readonly rollupRetentionMs?: number;
}

export type MetricKind = "counter" | "gauge" | "histogram";

interface Acc {
  key: SeriesKey;
  ts: number;
  count: number;
  sum: number;
  max: number;
  hist?: Hist;
}

/** Running totals since start, by series (what Prometheus scrapes). */
export interface Total {
  readonly key: SeriesKey;
  readonly kind: MetricKind;
  /** Counter: total; gauge: last value; histogram: observation count. */
  value: number;
  sum: number;
  hist?: Hist;
}

// join() makes one flat string; a template literal keeps a chain of ~10 cons-string pieces
// (~300 bytes) alive as the map key, for every series: 35,000 of them at 5,000 instances.
const keyOf = (k: SeriesKey): string => [k.project, k.environment, k.service, k.instance, k.name].join("\n");

export class MetricsCollector {
  readonly #o: Required<Omit<CollectorOptions, "repo" | "clock">> & Pick<CollectorOptions, "repo" | "clock">;
  #pending = new Map<string, Acc>();
  /** Series key strings by key object: callers that reuse their keys (the request recorder) build each string once. */
  readonly #keys = new WeakMap<SeriesKey, string>();
  readonly #totals = new Map<string, Total>();
  #timer: NodeJS.Timeout | undefined;
  #lastMaintenanceMs = 0;
  #flushing: Promise<void> | undefined;
  /** The slices `flushInSlices` has yet to write; `stop()` writes them at once. */
  #inflight: { points: Acc[]; next: number } | undefined;

  constructor(options: CollectorOptions) {
    this.#o = { resolutionS: 10, rollupS: 300, rawRetentionMs: 24 * 3_600_000, rollupRetentionMs: 30 * 86_400_000, ...options };
  }

  get resolutionS(): number {
    return this.#o.resolutionS;
  }

  /** Adds `n` to a counter (requests of a class, restarts, OOM kills). */
  count(key: SeriesKey, n = 1): void {
    const a = this.#acc(key);
    a.count += n;
    a.sum += n;
    a.max = Math.max(a.max, n);
    this.#total(key, "counter", (t) => {
      t.value += n;
      t.sum += n;
    });
  }

  /** Records one sample of a gauge (CPU percent, memory bytes, queue length). */
  gauge(key: SeriesKey, value: number): void {
    const a = this.#acc(key);
    a.count += 1;
    a.sum += value;
    a.max = Math.max(a.max, value);
    this.#total(key, "gauge", (t) => {
      t.value = value;
    });
  }

  /** Records one duration (request latency, cron run time) in ms. */
  observe(key: SeriesKey, ms: number, n = 1): void {
    const a = this.#acc(key);
    a.count += n;
    a.sum += ms * n;
    a.max = Math.max(a.max, ms);
    const bucket = bucketOf(ms);
    a.hist ??= {};
    a.hist[bucket] = (a.hist[bucket] ?? 0) + n;
    this.#total(key, "histogram", (t) => {
      t.value += n;
      t.sum += ms * n;
      t.hist ??= {};
      t.hist[bucket] = (t.hist[bucket] ?? 0) + n;
    });
  }

  /** Running totals (Prometheus). */
  totals(): readonly Total[] {
    return [...this.#totals.values()];
  }

  /** Forgets the running totals of series no longer present (a removed service). */
  forget(predicate: (k: SeriesKey) => boolean): void {
    for (const [k, t] of this.#totals) if (predicate(t.key)) this.#totals.delete(k);
  }

  /** Writes everything accumulated so far to the store. */
  flush(): void {
    if (this.#pending.size === 0) return;
    const pending = this.#pending;
    this.#pending = new Map();
    const points: MetricPoint[] = [];
    for (const a of pending.values()) points.push(this.#point(a));
    this.#o.repo.add(points);
  }

  /**
   * `flush()` in slices of `slice` points, yielding to the event loop between them. The timer
   * uses this: at 5,000 instances one interval is ~35,000 points, and writing them in one
   * transaction held the loop for ~0.7 s every 10 s (the /healthz p99 of the scale bench).
   * Points of the same key and interval merge on insert, so slices land independently.
   */
  async flushInSlices(slice = 500): Promise<void> {
    if (this.#pending.size === 0) return;
    const inflight = { points: [...this.#pending.values()], next: 0 };
    this.#pending = new Map();
    this.#inflight = inflight;
    try {
      while (inflight.next < inflight.points.length) {
        if (inflight.next > 0) await new Promise((r) => setImmediate(r));
        const part = inflight.points.slice(inflight.next, inflight.next + slice);
        inflight.next += part.length;
        this.#o.repo.add(part.map((a) => this.#point(a)));
      }
    } finally {
      if (this.#inflight === inflight) this.#inflight = undefined;
    }
  }

  /** Rolls up and prunes; runs from the flush timer at most every 10 minutes. */
  maintain(): void {
    const nowS = Math.floor(this.#o.clock.now() / 1000);
    this.#o.repo.rollup(this.#o.resolutionS, this.#o.rollupS, nowS - Math.floor(this.#o.rawRetentionMs / 1000));
    this.#o.repo.prune(this.#o.rollupS, nowS - Math.floor(this.#o.rollupRetentionMs / 1000));
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.#flushing ??= this.flushInSlices()
        .then(() => {
          if (this.#o.clock.now() - this.#lastMaintenanceMs > 600_000) {
            this.#lastMaintenanceMs = this.#o.clock.now();
            this.maintain();
          }
        })
        // A failed write loses one interval of points; the next flush tries again.
        .catch(() => {})
        .finally(() => {
          this.#flushing = undefined;
        });
    }, this.#o.resolutionS * 1000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    try {
      const rest = this.#inflight;
      if (rest && rest.next < rest.points.length) {
        const part = rest.points.slice(rest.next);
        rest.next = rest.points.length;
        this.#o.repo.add(part.map((a) => this.#point(a)));
      }
      this.flush();
    } catch {
      // store already closed
    }
  }

  #point(a: Acc): MetricPoint {
    return { ...a.key, resS: this.#o.resolutionS, ts: a.ts, count: a.count, sum: a.sum, max: a.max, ...(a.hist ? { hist: a.hist } : {}) };
  }

  #acc(key: SeriesKey): Acc {
    const res = this.#o.resolutionS;
    const ts = Math.floor(this.#o.clock.now() / 1000 / res) * res;
    const k = `${this.#keyOf(key)}\n${ts}`;
    let a = this.#pending.get(k);
    if (!a) {
      a = { key, ts, count: 0, sum: 0, max: 0 };
      this.#pending.set(k, a);
    }
    return a;
  }

  #keyOf(key: SeriesKey): string {
    let k = this.#keys.get(key);
    if (k === undefined) {
      k = keyOf(key);
      this.#keys.set(key, k);
    }
    return k;
  }

  #total(key: SeriesKey, kind: MetricKind, update: (t: Total) => void): void {
    const k = this.#keyOf(key);
    let t = this.#totals.get(k);
    if (!t) {
      t = { key, kind, value: 0, sum: 0 };
      this.#totals.set(k, t);
    }
    update(t);
  }
}

export { mergeInto };
