/**
 * Latency and duration histograms as sparse maps `{bucketMs: count}`, bucketed the way the
 * router's in-memory metrics are (exact below 100 ms, two significant digits above: at most 10 %
 * off). Sparse maps merge by addition, so raw points roll up into coarser ones and any time
 * range sums into one histogram; quantiles are read from that sum, never averaged.
 */
export type Hist = Record<string, number>;

/**
 * Exact below 100 ms, two significant digits above. The same buckets as the router's in-memory
 * counters (router/request-metrics.ts, a sibling layer this one may not import).
 */
export function latencyBucket(ms: number): number {
  if (ms < 100) return Math.max(0, Math.round(ms));
  const scale = 10 ** (Math.floor(Math.log10(ms)) - 1);
  return Math.ceil(ms / scale) * scale;
}

/** The histogram key of a duration. */
export function bucketOf(ms: number): string {
  return String(latencyBucket(Math.max(0, ms)));
}

/** Adds `n` observations of `ms` into `h` (mutates). */
export function observe(h: Hist, ms: number, n = 1): void {
  const b = bucketOf(ms);
  h[b] = (h[b] ?? 0) + n;
}

/** Adds `b` into `a` (mutates `a`). */
export function mergeInto(a: Hist, b: Hist): Hist {
  for (const [k, v] of Object.entries(b)) a[k] = (a[k] ?? 0) + v;
  return a;
}

/** The bucket holding the q-th observation (nearest rank); 0 for an empty histogram. */
export function quantile(h: Hist, q: number): number {
  const sorted = Object.entries(h)
    .map(([k, v]) => [Number(k), v] as const)
    .sort((x, y) => x[0] - y[0]);
  const total = sorted.reduce((n, [, c]) => n + c, 0);
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const [bucket, count] of sorted) {
    seen += count;
    if (seen >= rank) return bucket;
  }
  return sorted.at(-1)![0];
}

/** Fixed `le` bounds (seconds) for the Prometheus export of a sparse histogram. */
export const PROM_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

/** Cumulative counts per `le` bound of PROM_BUCKETS_S, then +Inf. */
export function cumulative(h: Hist): number[] {
  const entries = Object.entries(h).map(([k, v]) => [Number(k), v] as const);
  const out = PROM_BUCKETS_S.map((le) => entries.reduce((n, [b, c]) => (b <= le * 1000 ? n + c : n), 0));
  out.push(entries.reduce((n, [, c]) => n + c, 0));
  return out;
}
