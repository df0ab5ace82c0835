/**
 * Per-service request metrics from HAProxy's request logs: status counts and a latency
 * histogram with two significant digits (exact below 100 ms), so p50/p95/p99 cost a few hundred
 * counters per service however many requests pass.
 */
import { LOG_FORMAT } from "./haproxy-config.ts";

/** One parsed request log line. */
export interface RequestLogEntry {
  readonly backend: string;
  readonly status: number;
  /** Total active time of the request (HAProxy %Ta), ms. */
  readonly totalMs: number;
  /** Time the server took to send its response headers (%Tr), -1 if it never answered. */
  readonly serverMs: number;
  readonly bytes: number;
  /** The server slot that answered (`s1`), absent when none did or the line predates it. */
  readonly server?: string;
}

/** What the metrics API shows for a service. */
export interface RequestMetrics {
  readonly requests: number;
  /** By class (`2xx`...`5xx`) and by exact code (`502`). */
  readonly statusClasses: Readonly<Record<string, number>>;
  readonly statusCodes: Readonly<Record<string, number>>;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number };
  readonly bytes: number;
  /** 1 when every request was logged; N when one in N was (counts are then estimates). */
  readonly sampleEvery: number;
}

const LINE = /berth (\S+) (-?\d+) (-?\d+) (-?\d+) (\d+)(?: (\S+))?\s*$/;

/** Parses one line in `LOG_FORMAT` (with or without a syslog header); undefined if it is not one. */
export function parseRequestLog(line: string): RequestLogEntry | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const server = m[6] && m[6] !== "<NOSRV>" ? { server: m[6] } : {};
  return { backend: m[1]!, status: Number(m[2]), totalMs: Number(m[3]), serverMs: Number(m[4]), bytes: Number(m[5]), ...server };
}

void LOG_FORMAT; // the regex above mirrors it; haproxy-config.test.ts keeps them in step

/** Two significant digits above 100 ms, exact below. */
export function latencyBucket(ms: number): number {
  if (ms < 100) return Math.max(0, Math.round(ms));
  const scale = 10 ** (Math.floor(Math.log10(ms)) - 1);
  return Math.ceil(ms / scale) * scale;
}

/** Counters for one backend. */
export class ServiceRequestStats {
  #requests = 0;
  #bytes = 0;
  #max = 0;
  readonly #classes = new Map<string, number>();
  readonly #codes = new Map<string, number>();
  readonly #latency = new Map<number, number>();

  readonly #weight: number;

  constructor(sampleEvery = 1) {
    this.#weight = Math.max(1, Math.floor(sampleEvery));
  }

  record(e: RequestLogEntry): void {
    const w = this.#weight;
    this.#requests += w;
    this.#bytes += e.bytes * w;
    const code = e.status < 0 ? "aborted" : String(e.status);
    const cls = e.status < 0 ? "aborted" : `${Math.floor(e.status / 100)}xx`;
    this.#codes.set(code, (this.#codes.get(code) ?? 0) + w);
    this.#classes.set(cls, (this.#classes.get(cls) ?? 0) + w);
    if (e.totalMs >= 0) {
      const b = latencyBucket(e.totalMs);
      this.#latency.set(b, (this.#latency.get(b) ?? 0) + w);
      this.#max = Math.max(this.#max, e.totalMs);
    }
  }

  #quantile(sorted: Array<[number, number]>, total: number, q: number): number {
    const rank = Math.ceil(q * total);
    let seen = 0;
    for (const [bucket, count] of sorted) {
      seen += count;
      if (seen >= rank) return bucket;
    }
    return sorted.at(-1)?.[0] ?? 0;
  }

  snapshot(): RequestMetrics {
    const sorted = [...this.#latency.entries()].sort((a, b) => a[0] - b[0]);
    const total = sorted.reduce((n, [, c]) => n + c, 0);
    return {
      requests: this.#requests,
      statusClasses: Object.fromEntries(this.#classes),
      statusCodes: Object.fromEntries(this.#codes),
      latencyMs: {
        p50: this.#quantile(sorted, total, 0.5),
        p95: this.#quantile(sorted, total, 0.95),
        p99: this.#quantile(sorted, total, 0.99),
        max: this.#max,
      },
      bytes: this.#bytes,
      sampleEvery: this.#weight,
    };
  }
}

/** All backends' counters, fed by parsed log lines. */
export class RequestMetricsStore {
  readonly #byBackend = new Map<string, ServiceRequestStats>();
  readonly #sampleEvery: number;

  constructor(sampleEvery = 1) {
    this.#sampleEvery = sampleEvery;
  }

  record(e: RequestLogEntry): void {
    let s = this.#byBackend.get(e.backend);
    if (!s) {
      s = new ServiceRequestStats(this.#sampleEvery);
      this.#byBackend.set(e.backend, s);
    }
    s.record(e);
  }

  get(backend: string): RequestMetrics | undefined {
    return this.#byBackend.get(backend)?.snapshot();
  }
}
