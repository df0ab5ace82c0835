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

/** One interval's accumulation of one series. */
interface Acc {
  readonly series: Series;
  readonly ts: number;
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

/**
 * Everything the collector keeps for one series: its labels, its running total and its open
 * interval. One object per series, found by its key string or by the caller's key object, so an
 * update allocates nothing that outlives it (issue 15: at 5,000 instances a key object, a key
 * string and a pending entry per sample and interval were ~25 MB of heap).
 */
interface Series extends Total {
  readonly str: string;
  /** The open interval, until the next flush takes it. */
  acc: Acc | undefined;
  /** When its last interval opened: series untouched for 15 minutes are forgotten (replaced instances). */
  touchedMs: number;
  /** Forgotten: a caller still holding the key object gets a new series. */
  dropped: boolean;
}

// join() makes one flat string; a template literal keeps a chain of ~10 cons-string pieces
// (~300 bytes) alive as the map key, for every series: 35,000 of them at 5,000 instances.
const keyOf = (k: SeriesKey): string => [k.project, k.environment, k.service, k.instance, k.name].join("\n");

export class MetricsCollector {
  readonly #o: Required<Omit<CollectorOptions, "repo" | "clock">> & Pick<CollectorOptions, "repo" | "clock">;
  readonly #series = new Map<string, Series>();
  /**
   * Series by the key object that created them: callers that reuse their keys (the request
   * recorder) skip building the string. Only that first object is entered, never the fresh
   * objects a sampler builds per sample.
   */
  readonly #byObject = new WeakMap<SeriesKey, Series>();
  /** Series with an open interval since the last flush. */
  #pending: Series[] = [];
  /** Intervals closed by a later one before a flush took them (a late or slow flush). */
  #closed: Acc[] = [];
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
    const t = this.#of(key, "counter");
    const a = this.#acc(t);
    a.count += n;
    a.sum += n;
    a.max = Math.max(a.max, n);
    t.value += n;
    t.sum += n;
  }

  /** Records one sample of a gauge (CPU percent, memory bytes, queue length). */
  gauge(key: SeriesKey, value: number): void {
    const t = this.#of(key, "gauge");
    const a = this.#acc(t);
    a.count += 1;
    a.sum += value;
    a.max = Math.max(a.max, value);
    t.value = value;
  }

  /** Records one duration (request latency, cron run time) in ms. */
  observe(key: SeriesKey, ms: number, n = 1): void {
    const t = this.#of(key, "histogram");
    const a = this.#acc(t);
    a.count += n;
    a.sum += ms * n;
    a.max = Math.max(a.max, ms);
    const bucket = bucketOf(ms);
    a.hist ??= {};
    a.hist[bucket] = (a.hist[bucket] ?? 0) + n;
    t.value += n;
    t.sum += ms * n;
    t.hist ??= {};
    t.hist[bucket] = (t.hist[bucket] ?? 0) + n;
  }

  /** Running totals (Prometheus). */
  totals(): readonly Total[] {
    return [...this.#series.values()];
  }

  /** Forgets the running totals of series no longer present (a removed service). */
  forget(predicate: (k: SeriesKey) => boolean): void {
    for (const t of this.#series.values()) if (predicate(t.key)) this.#drop(t);
  }

  /** Writes everything accumulated so far to the store. */
  flush(): void {
    const points = this.#take();
    if (points.length > 0) this.#o.repo.add(points.map((a) => this.#point(a)));
  }

  /**
   * `flush()` in slices of `slice` points, yielding to the event loop between them. The timer
   * uses this: at 5,000 instances one interval is ~35,000 points, and writing them in one
   * transaction held the loop for ~0.7 s every 10 s (the /healthz p99 of the scale bench).
   * Points of the same key and interval merge on insert, so slices land independently.
   */
  async flushInSlices(slice = 500): Promise<void> {
    const points = this.#take();
    if (points.length === 0) return;
    const inflight = { points, next: 0 };
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

  /**
   * Rolls up and prunes the store; forgets series with no update for 15 minutes (every deploy
   * replaces the instances, and their series would otherwise be kept for the daemon's lifetime).
   * Runs from the flush timer at most every 10 minutes.
   */
  maintain(): void {
    const nowMs = this.#o.clock.now();
    const nowS = Math.floor(nowMs / 1000);
    this.#o.repo.rollup(this.#o.resolutionS, this.#o.rollupS, nowS - Math.floor(this.#o.rawRetentionMs / 1000));
    this.#o.repo.prune(this.#o.rollupS, nowS - Math.floor(this.#o.rollupRetentionMs / 1000));
    for (const t of this.#series.values()) if (!t.acc && t.touchedMs < nowMs - STALE_MS) this.#drop(t);
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

  /** The open and closed intervals, taken out for writing. */
  #take(): Acc[] {
    const points = this.#closed;
    this.#closed = [];
    for (const t of this.#pending) {
      if (t.acc) points.push(t.acc);
      t.acc = undefined;
    }
    this.#pending = [];
    return points;
  }

  #point(a: Acc): MetricPoint {
    return { ...a.series.key, resS: this.#o.resolutionS, ts: a.ts, count: a.count, sum: a.sum, max: a.max, ...(a.hist ? { hist: a.hist } : {}) };
  }

  #acc(t: Series): Acc {
    const nowMs = this.#o.clock.now();
    const res = this.#o.resolutionS;
    const ts = Math.floor(nowMs / 1000 / res) * res;
    let a = t.acc;
    if (a?.ts === ts) return a;
    if (a) this.#closed.push(a);
    else this.#pending.push(t);
    a = { series: t, ts, count: 0, sum: 0, max: 0 };
    t.acc = a;
    t.touchedMs = nowMs;
    return a;
  }

  #of(key: SeriesKey, kind: MetricKind): Series {
    let t = this.#byObject.get(key);
    if (t && !t.dropped) return t;
    const str = keyOf(key);
    t = this.#series.get(str);
    if (!t) {
      t = { key, str, kind, value: 0, sum: 0, acc: undefined, touchedMs: 0, dropped: false };
      this.#series.set(str, t);
      this.#byObject.set(key, t);
    }
    return t;
  }

  #drop(t: Series): void {
    this.#series.delete(t.str);
    t.dropped = true;
  }
}

/** A series with no update for this long is forgotten (see `maintain`). */
const STALE_MS = 15 * 60_000;

export { mergeInto };
