/**
 * The autoscaler: on a beat, for every service with `scaling`, observes its metrics (CPU,
 * memory, p95 from the metrics store; queue depth from Redis), decides (decide.ts), records the
 * new desired instance count and asks for a reconcile — the reconciler and the engine do the
 * scaling, so it works on any engine. Every change is an `autoscale:scaled` event naming the
 * metric that caused it; a recommendation above max is `autoscale:pinned` (an alert rule).
 * The decision history is stored, so a daemon restart keeps the window and the cooldown.
 */
import type { Blueprint, Scaling } from "../../blueprint/types.ts";
import type { Clock } from "../../core/clock.ts";
import type { EventSink } from "../../core/events.ts";
import { AutoscaleRepository } from "../../store/repositories/autoscale.ts";
import type { EnvironmentRow } from "../../store/repositories/environments.ts";
import type { Store } from "../../store/store.ts";
import type { MetricsCollector } from "../metrics/collector.ts";
import type { MetricsSummary, ServiceSelector } from "../metrics/query.ts";
import { decideScale } from "./decide.ts";

export interface AutoscalerOptions {
  readonly store: Store;
  readonly events: EventSink;
  readonly clock: Clock;
  readonly collector: MetricsCollector;
  /** Metrics of a service over the last `windowMs`. */
  readonly summary: (sel: ServiceSelector, windowMs: number) => MetricsSummary;
  /** Length of a Redis list (or sorted set) in a key-value store of the environment. */
  readonly queueLength: (env: EnvironmentRow, keyValue: string, key: string) => Promise<number | undefined>;
  readonly requestReconcile: (environmentId: string) => void;
  /** Default 15 s. */
  readonly intervalMs?: number;
  /** Metrics window for CPU/memory/p95. Default 60 s. */
  readonly metricsWindowMs?: number;
}

export class Autoscaler {
  readonly #o: AutoscalerOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  readonly #history: AutoscaleRepository;

  constructor(options: AutoscalerOptions) {
    this.#o = options;
    this.#history = new AutoscaleRepository(options.store.db);
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.#running ??= this.tick()
        .catch(() => {})
        .finally(() => {
          this.#running = undefined;
        });
    }, this.#o.intervalMs ?? 15_000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  async tick(): Promise<void> {
    const { store } = this.#o;
    for (const env of store.environments.list()) {
      if (env.status === "stopped" || env.status === "stopping") continue;
      const bp = env.blueprint as Blueprint;
      for (const svc of bp.services) {
        const scaling = (svc as { scaling?: Scaling }).scaling;
        if (!scaling) continue;
        const row = store.services.byName(env.id, svc.name);
        if (!row) continue;
        await this.#scale(env, row.id, svc.name, row.spec.replicas, scaling);
      }
    }
  }

  async #scale(env: EnvironmentRow, serviceId: string, service: string, current: number, scaling: Scaling): Promise<void> {
    const o = this.#o;
    const now = o.clock.now();
    const sel = { project: env.project, environment: env.name, service };
    const s = o.summary(sel, o.metricsWindowMs ?? 60_000);
    const queueLength = scaling.queue ? await o.queueLength(env, scaling.queue.keyValue, scaling.queue.key).catch(() => undefined) : undefined;
    if (queueLength !== undefined) o.collector.gauge({ ...sel, instance: "", name: "queue.length" }, queueLength);
    const observed = {
      ...(s.cpuPercent ? { cpuPercent: s.cpuPercent.avg } : {}),
      ...(s.memoryPercent ? { memoryPercent: s.memoryPercent.avg } : {}),
      ...(s.requests > 0 ? { p95Ms: s.latencyMs.p95 } : {}),
      ...(queueLength !== undefined ? { queueLength } : {}),
    };
    const policy = {
      min: scaling.min,
      max: scaling.max,
      ...(scaling.targetCpuPercent ? { targetCpuPercent: scaling.targetCpuPercent } : {}),
      ...(scaling.targetMemoryPercent ? { targetMemoryPercent: scaling.targetMemoryPercent } : {}),
      ...(scaling.targetP95Ms ? { targetP95Ms: scaling.targetP95Ms } : {}),
      ...(scaling.queue ? { queue: { targetPerReplica: scaling.queue.targetPerReplica } } : {}),
      stabilizationWindowMs: scaling.stabilizationWindowMs ?? 300_000,
      cooldownMs: scaling.cooldownMs ?? 60_000,
    };
    const d = decideScale(policy, current, observed, this.#history.load(serviceId), now);
    this.#history.save(serviceId, d.replicas, d.history);
    const scope = { project: env.project, environment: env.name, service };
    if (d.wanted > scaling.max && current >= scaling.max) {
      o.events.emit({ type: "autoscale:pinned", scope, actor: "autoscaler", data: { service, replicas: scaling.max, wanted: d.wanted, metric: d.metric, value: d.value } });
    }
    if (d.replicas === current) return;
    o.store.services.setReplicas(serviceId, d.replicas, new Date(now).toISOString());
    o.events.emit({ type: "autoscale:scaled", scope, actor: "autoscaler", data: { service, from: current, to: d.replicas, metric: d.metric, value: d.value, target: d.target, reason: d.reason } });
    o.requestReconcile(env.id);
  }
}

