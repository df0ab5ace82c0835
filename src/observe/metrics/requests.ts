/**
 * Turns the router's request log entries into metric series: per service and per instance,
 * one counter per status class (`http.2xx` ... `http.5xx`, `http.other` for aborted requests)
 * and the latency histogram `http.latency`.
 */
import type { SeriesKey } from "../../store/repositories/metrics.ts";
import type { MetricsCollector } from "./collector.ts";

export const STATUS_CLASSES = ["2xx", "3xx", "4xx", "5xx", "other"] as const;
export const HTTP_SERIES = [...STATUS_CLASSES.map((c) => `http.${c}`), "http.latency"] as const;

/** One request as the router reports it. */
export interface RequestSample {
  /** HAProxy backend name: `svc.<project>.<environment>.<service>`. */
  readonly backend: string;
  readonly status: number;
  readonly totalMs: number;
  /** The instance that served it, when known. */
  readonly instance?: string;
  /** 1 unless the router logs one request in N. */
  readonly weight?: number;
}

/** `svc.p.e.s` -> the service's key parts; undefined for Berth's own backends. */
export function serviceOfBackend(backend: string): { project: string; environment: string; service: string } | undefined {
  const parts = backend.split(".");
  if (parts.length !== 4 || parts[0] !== "svc") return undefined;
  return { project: parts[1]!, environment: parts[2]!, service: parts[3]! };
}

export function statusClass(status: number): (typeof STATUS_CLASSES)[number] {
  if (status >= 200 && status < 600) return `${Math.floor(status / 100)}xx` as "2xx";
  return "other";
}

/** A recorder the router calls for every logged request. */
export function requestRecorder(collector: MetricsCollector): (s: RequestSample) => void {
  const cache = new Map<string, ReturnType<typeof serviceOfBackend>>();
  // The same key objects for every request of a backend and instance: the collector then builds
  // each series' key string once, not four times per request (the router bench's on/off ratio).
  // Instances come and go with deploys: the table starts over past 10,000 of them.
  let keys = new Map<string, Record<string, SeriesKey>>();
  const keyOf = (svc: { project: string; environment: string; service: string }, backend: string, instance: string, name: string): SeriesKey => {
    const id = instance ? `${backend}\n${instance}` : backend;
    let byName = keys.get(id);
    if (!byName) {
      if (keys.size >= 10_000) keys = new Map();
      byName = {};
      keys.set(id, byName);
    }
    byName[name] ??= { ...svc, instance, name };
    return byName[name];
  };
  return (s) => {
    let svc = cache.get(s.backend);
    if (svc === undefined && !cache.has(s.backend)) {
      svc = serviceOfBackend(s.backend);
      cache.set(s.backend, svc);
    }
    if (!svc) return;
    const n = s.weight ?? 1;
    const cls = CLASS_SERIES[statusClass(s.status)];
    for (const instance of s.instance ? ["", s.instance] : [""]) {
      collector.count(keyOf(svc, s.backend, instance, cls), n);
      if (s.totalMs >= 0) collector.observe(keyOf(svc, s.backend, instance, "http.latency"), s.totalMs, n);
    }
  };
}

const CLASS_SERIES = Object.fromEntries(STATUS_CLASSES.map((c) => [c, `http.${c}`])) as Record<(typeof STATUS_CLASSES)[number], string>;
