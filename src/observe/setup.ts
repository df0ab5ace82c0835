/**
 * Wires observability (issue 18) for the composition root: the metrics collector and sampler,
 * the router's request feed, the alert manager, log drains and the autoscaler — each reading
 * the store and emitting into the bus, started and stopped together.
 */
import { statfsSync } from "node:fs";
import { dirname } from "node:path";
import type { Blueprint } from "../blueprint/types.ts";
import type { Clock } from "../core/clock.ts";
import type { Engine } from "../engine/engine.ts";
import type { Store } from "../store/store.ts";
import { AlertRepository } from "../store/repositories/alerts.ts";
import { MetricsRepository } from "../store/repositories/metrics.ts";
import { AlertManager, type EnvironmentAlerts } from "./alerts/manager.ts";
import { resolveRules } from "./alerts/rules.ts";
import type { EventBus } from "./event-bus.ts";
import { MetricsCollector } from "./metrics/collector.ts";
import { type MetricsSummary, summarize, summarizeEnvironment } from "./metrics/query.ts";
import { requestRecorder } from "./metrics/requests.ts";
import { EngineSampler } from "./metrics/sampler.ts";
import { DrainManager, drainEnvironments } from "./drains/manager.ts";
import { Autoscaler } from "./autoscale/autoscaler.ts";
import { type DatastoreSample, DatastoreSampler } from "./metrics/datastores.ts";
import type { EnvironmentRow } from "../store/repositories/environments.ts";

export interface ObservabilityOptions {
  readonly store: Store;
  readonly bus: EventBus;
  readonly engine: Engine;
  readonly clock: Clock;
  readonly sampleIntervalMs?: number;
  readonly alertTickMs?: number;
  readonly drainRetryMs?: number;
  readonly autoscaleIntervalMs?: number;
  /** Queue depth for `scaling.queue` (the composition root reads the environment's Redis). */
  queueLength?: (env: EnvironmentRow, keyValue: string, key: string) => Promise<number | undefined>;
  /** Postgres/Redis numbers (set by the composition root, which has the data providers). */
  probeDatastores?: () => Promise<readonly DatastoreSample[]>;
  readonly datastoreIntervalMs?: number;
  /** Set by the composition root once the reconciler exists. */
  requestReconcile?: (environmentId: string) => void;
  /** An alert channel's or log drain's credential from the secret store (env group variable, environment over `*`). */
  readonly secret?: (scope: { readonly project: string; readonly environment: string }, group: string, key: string) => string | undefined;
}

export interface Observability {
  readonly collector: MetricsCollector;
  readonly repo: MetricsRepository;
  readonly alerts: AlertManager;
  readonly drains: DrainManager;
  readonly autoscaler: Autoscaler;
  /** The router's `onRequest`. */
  readonly onRequest: ReturnType<typeof requestRecorder>;
  start(): void;
  stop(): Promise<void>;
}

/** Running (not stopped) environments with their blueprints. */
export function runningEnvironments(store: Store) {
  return store.environments.list().filter((e) => e.status !== "stopped" && e.status !== "stopping");
}

export function createObservability(o: ObservabilityOptions): Observability {
  const repo = new MetricsRepository(o.store.db);
  const collector = new MetricsCollector({ repo, clock: o.clock });
  const sampler = new EngineSampler({
    engine: o.engine,
    collector,
    environments: () => runningEnvironments(o.store).map((e) => ({ project: e.project, environment: e.name })),
    subscribe: (l) => o.bus.subscribe(l),
    ...(o.sampleIntervalMs ? { intervalMs: o.sampleIntervalMs } : {}),
  });
  // Rules are resolved once per blueprint generation, not on every event.
  const cache = new Map<string, { generation: number; value: EnvironmentAlerts }>();
  const environments = (): EnvironmentAlerts[] =>
    runningEnvironments(o.store).map((e) => {
      const hit = cache.get(e.id);
      if (hit && hit.generation === e.generation) return hit.value;
      const bp = e.blueprint as Blueprint;
      const value: EnvironmentAlerts = {
        project: e.project,
        environment: e.name,
        services: bp.services.filter((s) => s.type !== "cron").map((s) => s.name),
        rules: resolveRules(bp.alerts),
        channels: bp.alerts?.channels ?? {},
        ...(bp.alerts?.route ? { route: bp.alerts.route } : {}),
      };
      cache.set(e.id, { generation: e.generation, value });
      return value;
    });
  // The data disk, sampled with the alerts' tick: one figure for the whole host.
  let diskPercent: number | undefined;
  const sampleDisk = () => {
    try {
      const st = statfsSync(dirname(o.store.db.path));
      diskPercent = st.blocks > 0 ? (1 - st.bavail / st.blocks) * 100 : undefined;
    } catch {
      diskPercent = undefined;
    }
  };
  // Metric rules read one query per environment and window, shared by every rule and service of a
  // tick (a query per service and rule blocked the event loop for seconds with 1,000 services).
  let summaries = { toS: -1, byWindow: new Map<string, Map<string, MetricsSummary>>() };
  const serviceSummary = (ref: { project: string; environment: string; service: string }, windowMs: number, toS: number): MetricsSummary | undefined => {
    if (summaries.toS !== toS) {
      const tick = { toS, byWindow: new Map<string, Map<string, MetricsSummary>>() };
      summaries = tick;
      // Shared within a tick only: kept until the next tick, 5,000 services' summaries were
      // ~2 MB of heap held for nothing between ticks.
      setTimeout(() => {
        if (summaries === tick) summaries = { toS: -1, byWindow: new Map() };
      }, 5_000).unref();
    }
    const fromS = toS - Math.floor(windowMs / 1000);
    const key = `${ref.project}\0${ref.environment}\0${fromS}`;
    let byService = summaries.byWindow.get(key);
    if (!byService) {
      byService = summarizeEnvironment(repo, ref, fromS, toS);
      summaries.byWindow.set(key, byService);
    }
    return byService.get(ref.service);
  };
  const alerts = new AlertManager({
    repo: new AlertRepository(o.store.db),
    events: o.bus,
    clock: o.clock,
    environments,
    scopeOf: (e) => {
      const domain = (e.data as { domain?: unknown }).domain;
      if (typeof domain !== "string") return undefined;
      const hit = runningEnvironments(o.store).find((env) =>
        (env.blueprint as Blueprint).services.some((s) => ((s as { domains?: readonly string[] }).domains ?? []).some((d) => d === domain || (d.startsWith("*.") && domain.endsWith(d.slice(1))))),
      );
      return hit ? { project: hit.project, environment: hit.name } : undefined;
    },
    metric: (ref, metric, windowMs, nowMs) => {
      if (metric === "disk") {
        if (ref.service !== "") return undefined;
        sampleDisk();
        return diskPercent === undefined ? undefined : { value: diskPercent, requests: 0 };
      }
      const toS = Math.floor(nowMs / 1000);
      if (metric === "queue") {
        const q = queueLength(repo, ref, toS - Math.floor(windowMs / 1000), toS);
        return q === undefined || q === null ? undefined : { value: q, requests: 0 };
      }
      const s = serviceSummary(ref, windowMs, toS);
      if (!s) return undefined; // no points in the window: nothing to judge
      const value =
        metric === "errorRate" ? s.errorRate
        : metric === "p95" ? s.latencyMs.p95
        : metric === "p99" ? s.latencyMs.p99
        : metric === "cpu" ? s.cpuPercent?.avg
        : metric === "memory" ? s.memoryPercent?.avg
        : s.restarts;
      return value === undefined || value === null ? undefined : { value, requests: s.requests };
    },
    ...(o.secret ? { secret: o.secret } : {}),
    ...(o.alertTickMs ? { tickMs: o.alertTickMs, metricEveryMs: o.alertTickMs } : {}),
  });
  const drains = new DrainManager({
    engine: o.engine,
    events: o.bus,
    clock: o.clock,
    environments: () => drainEnvironments(runningEnvironments(o.store)),
    ...(o.secret ? { secret: o.secret } : {}),
    ...(o.drainRetryMs ? { retryMs: o.drainRetryMs, maxRetryMs: o.drainRetryMs * 4 } : {}),
  });
  const autoscaler = new Autoscaler({
    store: o.store,
    events: o.bus,
    clock: o.clock,
    collector,
    summary: (sel, windowMs) => {
      collector.flush();
      const toS = Math.floor(o.clock.now() / 1000);
      return summarize(repo, sel, toS - Math.floor(windowMs / 1000), toS);
    },
    queueLength: (env, kv, key) => o.queueLength?.(env, kv, key) ?? Promise.resolve(undefined),
    requestReconcile: (id) => o.requestReconcile?.(id),
    ...(o.autoscaleIntervalMs ? { intervalMs: o.autoscaleIntervalMs } : {}),
  });
  const datastores = new DatastoreSampler({ collector, probe: () => o.probeDatastores?.() ?? Promise.resolve([]), ...(o.datastoreIntervalMs ? { intervalMs: o.datastoreIntervalMs } : {}) });
  let off: (() => void) | undefined;
  return {
    collector,
    repo,
    alerts,
    drains,
    autoscaler,
    onRequest: requestRecorder(collector),
    start() {
      collector.start();
      sampler.start();
      off = o.bus.subscribe((e) => alerts.onEvent(e));
      alerts.start();
      drains.start();
      autoscaler.start();
      datastores.start();
    },
    async stop() {
      off?.();
      await datastores.stop();
      await autoscaler.stop();
      await drains.stop();
      await alerts.stop();
      await sampler.stop();
      collector.stop();
    },
  };
}

function queueLength(repo: MetricsRepository, ref: { project: string; environment: string; service: string }, fromS: number, toS: number): number | undefined {
  const points = repo.query({ ...ref, names: ["queue.length"], fromS, toS });
  return points.length ? points.at(-1)!.sum / Math.max(1, points.at(-1)!.count) : undefined;
}
