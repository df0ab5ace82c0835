/**
 * Reads metrics back for the API, the CLI and alert rules: a summary of a time range (request
 * count, error rate, p50/p95/p99 from the merged histogram, CPU and memory) and series in steps
 * for charts and sparklines. Pure over the repository's points.
 */
import type { MetricPoint, MetricsRepository } from "../../store/repositories/metrics.ts";
import { type Hist, mergeInto, quantile } from "./histogram.ts";
import { STATUS_CLASSES } from "./requests.ts";

export interface ServiceSelector {
  readonly project: string;
  readonly environment: string;
  readonly service: string;
  /** Absent: the whole service. */
  readonly instance?: string;
}

export interface MetricsSummary {
  readonly fromS: number;
  readonly toS: number;
  readonly requests: number;
  readonly statusClasses: Readonly<Record<string, number>>;
  /** 5xx / requests, 0..1. */
  readonly errorRate: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number };
  readonly cpuPercent: { readonly avg: number; readonly max: number } | null;
  readonly memoryBytes: { readonly avg: number; readonly max: number } | null;
  readonly memoryPercent: { readonly avg: number; readonly max: number } | null;
  readonly restarts: number;
  readonly oomKills: number;
  readonly instances: number | null;
}

export interface MetricsSeries {
  readonly stepS: number;
  /** Start of each step, epoch seconds. */
  readonly t: readonly number[];
  readonly requests: readonly number[];
  readonly errors: readonly number[];
  readonly errorRate: readonly (number | null)[];
  readonly p50: readonly (number | null)[];
  readonly p95: readonly (number | null)[];
  readonly p99: readonly (number | null)[];
  readonly cpuPercent: readonly (number | null)[];
  readonly memoryBytes: readonly (number | null)[];
  readonly instances: readonly (number | null)[];
}

const NAMES = [...STATUS_CLASSES.map((c) => `http.${c}`), "http.latency", "cpu.percent", "memory.bytes", "memory.percent", "restarts", "oom", "instances"];

/** Rolled-up points replace the raw ones they were made from, so the two never overlap. */
function points(repo: MetricsRepository, sel: ServiceSelector, fromS: number, toS: number): MetricPoint[] {
  return repo.query({ project: sel.project, environment: sel.environment, service: sel.service, instance: sel.instance ?? "", names: NAMES, fromS, toS });
}

function reduce(ps: readonly MetricPoint[]) {
  const classes: Record<string, number> = {};
  const hist: Hist = {};
  let maxLatency = 0;
  const gauge = (name: string) => {
    const g = ps.filter((p) => p.name === name);
    const n = g.reduce((s, p) => s + p.count, 0);
    return n === 0 ? null : { avg: g.reduce((s, p) => s + p.sum, 0) / n, max: Math.max(...g.map((p) => p.max)) };
  };
  let restarts = 0;
  let ooms = 0;
  for (const p of ps) {
    if (p.name.startsWith("http.") && p.name !== "http.latency") classes[p.name.slice(5)] = (classes[p.name.slice(5)] ?? 0) + p.sum;
    else if (p.name === "http.latency" && p.hist) {
      mergeInto(hist, p.hist);
      maxLatency = Math.max(maxLatency, p.max);
    } else if (p.name === "restarts") restarts += p.sum;
    else if (p.name === "oom") ooms += p.sum;
  }
  const requests = Object.values(classes).reduce((s, n) => s + n, 0);
  return {
    requests,
    classes,
    errorRate: requests === 0 ? 0 : (classes["5xx"] ?? 0) / requests,
    hist,
    maxLatency,
    cpu: gauge("cpu.percent"),
    memory: gauge("memory.bytes"),
    memoryPercent: gauge("memory.percent"),
    instances: gauge("instances"),
    restarts,
    ooms,
  };
}

/** Totals and percentiles over [fromS, toS]. */
export function summarize(repo: MetricsRepository, sel: ServiceSelector, fromS: number, toS: number): MetricsSummary {
  return toSummary(reduce(points(repo, sel, fromS, toS)), fromS, toS);
}

/**
 * Every service of an environment with points in [fromS, toS], summarized from one query (the
 * alert rules' view: a service without points has no summary).
 */
export function summarizeEnvironment(repo: MetricsRepository, env: { readonly project: string; readonly environment: string }, fromS: number, toS: number): Map<string, MetricsSummary> {
  const byService = new Map<string, MetricPoint[]>();
  // Totals per service and series come summed from SQL (reduce adds counts and sums and keeps the
  // max, so one summed point reduces like the many it stands for); only histograms come raw.
  const totals = repo.totalsByService({ ...env, names: NAMES.filter((n) => n !== "http.latency"), fromS, toS });
  const latency = repo.queryEnvironment({ ...env, names: ["http.latency"], fromS, toS });
  for (const p of [...totals, ...latency]) {
    let list = byService.get(p.service);
    if (!list) {
      list = [];
      byService.set(p.service, list);
    }
    list.push(p);
  }
  return new Map([...byService].map(([service, ps]) => [service, toSummary(reduce(ps), fromS, toS)]));
}

function toSummary(r: ReturnType<typeof reduce>, fromS: number, toS: number): MetricsSummary {
  return {
    fromS,
    toS,
    requests: r.requests,
    statusClasses: r.classes,
    errorRate: r.errorRate,
    latencyMs: { p50: quantile(r.hist, 0.5), p95: quantile(r.hist, 0.95), p99: quantile(r.hist, 0.99), max: r.maxLatency },
    cpuPercent: r.cpu,
    memoryBytes: r.memory,
    memoryPercent: r.memoryPercent,
    restarts: r.restarts,
    oomKills: r.ooms,
    instances: r.instances ? Math.round(r.instances.avg) : null,
  };
}

/** The range cut into `stepS` steps (for charts and sparklines). */
export function series(repo: MetricsRepository, sel: ServiceSelector, fromS: number, toS: number, stepS: number): MetricsSeries {
  const step = Math.max(1, Math.floor(stepS));
  const start = Math.floor(fromS / step) * step;
  const buckets = new Map<number, MetricPoint[]>();
  for (const p of points(repo, sel, start, toS)) {
    const b = Math.floor(p.ts / step) * step;
    let list = buckets.get(b);
    if (!list) {
      list = [];
      buckets.set(b, list);
    }
    list.push(p);
  }
  const out = { t: [] as number[], requests: [] as number[], errors: [] as number[], errorRate: [] as (number | null)[], p50: [] as (number | null)[], p95: [] as (number | null)[], p99: [] as (number | null)[], cpuPercent: [] as (number | null)[], memoryBytes: [] as (number | null)[], instances: [] as (number | null)[] };
  for (let t = start; t <= toS; t += step) {
    const r = reduce(buckets.get(t) ?? []);
    const any = r.requests > 0;
    out.t.push(t);
    out.requests.push(r.requests);
    out.errors.push(r.classes["5xx"] ?? 0);
    out.errorRate.push(any ? r.errorRate : null);
    out.p50.push(any ? quantile(r.hist, 0.5) : null);
    out.p95.push(any ? quantile(r.hist, 0.95) : null);
    out.p99.push(any ? quantile(r.hist, 0.99) : null);
    out.cpuPercent.push(r.cpu ? r.cpu.avg : null);
    out.memoryBytes.push(r.memory ? r.memory.avg : null);
    out.instances.push(r.instances ? r.instances.avg : null);
  }
  return { stepS: step, ...out };
}
