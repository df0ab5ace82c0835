/**
 * Samples managed datastores on a slow beat (default 60 s): Postgres connections, size, WAL
 * archive lag and last backup age; Redis memory, evictions and clients. The probe is injected by
 * a higher layer (it needs the data providers); values land as gauges under the datastore's name
 * (`pg.connections`, `redis.used_memory`, ...), so the same API and `/metrics` serve them.
 */
import type { MetricsCollector } from "./collector.ts";

export interface DatastoreSample {
  readonly project: string;
  readonly environment: string;
  /** The resource name (`db`, `cache`). */
  readonly name: string;
  readonly values: Readonly<Record<string, number>>;
}

export class DatastoreSampler {
  readonly #probe: () => Promise<readonly DatastoreSample[]>;
  readonly #collector: MetricsCollector;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(options: { probe: () => Promise<readonly DatastoreSample[]>; collector: MetricsCollector; intervalMs?: number }) {
    this.#probe = options.probe;
    this.#collector = options.collector;
    this.#intervalMs = options.intervalMs ?? 60_000;
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.#running ??= this.sample()
        .catch(() => {})
        .finally(() => {
          this.#running = undefined;
        });
    }, this.#intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  async sample(): Promise<void> {
    for (const s of await this.#probe()) {
      for (const [name, value] of Object.entries(s.values)) {
        if (Number.isFinite(value)) this.#collector.gauge({ project: s.project, environment: s.environment, service: s.name, instance: "", name }, value);
      }
    }
  }
}
