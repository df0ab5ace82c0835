/**
 * Samples what the engine knows (instances, CPU, memory) on a beat and turns engine and cron
 * events into metrics (restarts, OOM kills, cron run durations and outcomes). Works through the
 * Engine seam only, so any engine feeds it.
 */
import type { BerthEvent } from "../../core/events.ts";
import { effectiveInstanceLimits } from "../../core/limits.ts";
import type { Engine } from "../../engine/engine.ts";
import type { MetricsCollector } from "./collector.ts";

export interface SamplerOptions {
  readonly engine: Engine;
  readonly collector: MetricsCollector;
  /** The environments to sample (running ones). */
  readonly environments: () => readonly { project: string; environment: string }[];
  readonly subscribe: (listener: (e: BerthEvent) => void) => () => void;
  /** Default 10 s. */
  readonly intervalMs?: number;
}

interface CpuMark {
  cpuMs: number;
  uptimeMs: number;
}

export class EngineSampler {
  readonly #o: SamplerOptions;
  readonly #cpu = new Map<string, CpuMark>();
  #timer: NodeJS.Timeout | undefined;
  #off: (() => void) | undefined;
  #running: Promise<void> | undefined;

  constructor(options: SamplerOptions) {
    this.#o = options;
  }

  start(): void {
    this.#off = this.#o.subscribe((e) => this.onEvent(e));
    this.#timer = setInterval(() => {
      this.#running ??= this.sample()
        .catch(() => {})
        .finally(() => {
          this.#running = undefined;
        });
    }, this.#o.intervalMs ?? 10_000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#off?.();
    await this.#running;
  }

  /** One sample of every running instance. CPU is the use since the previous sample. */
  async sample(): Promise<void> {
    const c = this.#o.collector;
    const seen = new Set<string>();
    let n = 0;
    for (const env of this.#o.environments()) {
      for (const svc of await this.#o.engine.actual(env)) {
        // An engine answering from memory resolves at once: without a macrotask break, 5,000
        // services were sampled in one stretch of the event loop (~180 ms).
        if (++n % 100 === 0) await new Promise((r) => setImmediate(r));
        const base = { project: svc.ref.project, environment: svc.ref.environment, service: svc.ref.service };
        const live = svc.instances.filter((i) => i.state !== "exited");
        c.gauge({ ...base, instance: "", name: "instances" }, live.length);
        const limit = effectiveInstanceLimits(svc.spec.limits).memoryBytes;
        for (const i of live) {
          const stats = await this.#o.engine.stats(svc.ref, i.id).catch(() => undefined);
          if (!stats) continue;
          seen.add(i.id);
          const cpuMs = (stats.cpuPercent / 100) * stats.uptimeMs;
          const prev = this.#cpu.get(i.id);
          this.#cpu.set(i.id, { cpuMs, uptimeMs: stats.uptimeMs });
          const cpu = prev && stats.uptimeMs > prev.uptimeMs ? ((cpuMs - prev.cpuMs) / (stats.uptimeMs - prev.uptimeMs)) * 100 : stats.cpuPercent;
          for (const instance of ["", i.id]) {
            c.gauge({ ...base, instance, name: "cpu.percent" }, Math.max(0, cpu));
            c.gauge({ ...base, instance, name: "memory.bytes" }, stats.rssBytes);
            c.gauge({ ...base, instance, name: "memory.percent" }, (stats.rssBytes / limit) * 100);
          }
        }
      }
    }
    for (const id of this.#cpu.keys()) if (!seen.has(id)) this.#cpu.delete(id);
  }

  /** Restarts, OOM kills and cron outcomes, as they happen. */
  onEvent(e: BerthEvent): void {
    const s = e.scope;
    if (!s.project || !s.environment || !s.service) return;
    const base = { project: s.project, environment: s.environment, service: s.service };
    const c = this.#o.collector;
    const data = e.data as Record<string, unknown>;
    switch (e.type) {
      case "instance:restarting":
        c.count({ ...base, instance: "", name: "restarts" });
        c.count({ ...base, instance: String(data.instance), name: "restarts" });
        break;
      case "instance:oom":
        c.count({ ...base, instance: "", name: "oom" });
        c.count({ ...base, instance: String(data.instance), name: "oom" });
        break;
      case "cron:run:succeeded":
        c.count({ ...base, instance: "", name: "cron.succeeded" });
        c.observe({ ...base, instance: "", name: "cron.duration" }, Number(data.ms));
        break;
      case "cron:run:failed":
      case "cron:run:timeout":
        c.count({ ...base, instance: "", name: "cron.failed" });
        break;
      case "cron:slot:missed":
        c.count({ ...base, instance: "", name: "cron.missed" }, Number(data.count) || 1);
        break;
    }
  }
}
