/**
 * Sleep when idle, wake on the first request (issue 19, deliverable 5). Level-based like the
 * rest of the reconcile layer: this file only records desired state — `asleep_since` on the
 * service row — and asks for a reconcile; the reconciler runs an asleep service with no
 * instances (reconciler.ts) and the router keeps its backend, whose backup server is the
 * waker (router/waker.ts). Both states are in the store, so a daemon restart keeps them.
 *
 * Idle time counts from the latest of: the last request the router logged for the service, the
 * last change of its row (a deploy with new inputs, a wake), and the daemon's start (request
 * times are kept in memory only; after a restart a service gets a full `sleepAfter` again).
 */
import type { Clock } from "../core/clock.ts";
import type { EventSink } from "../core/events.ts";
import type { Endpoint, Engine } from "../engine/engine.ts";
import type { SleeperRow } from "../store/repositories/services.ts";
import type { Store } from "../store/store.ts";

export interface SleeperDeps {
  readonly store: Store;
  readonly engine: Pick<Engine, "actual">;
  readonly events: EventSink;
  readonly clock: Clock;
  readonly requestReconcile: (environmentId: string) => void;
  /** How often idle services are looked for. Default 15 s. */
  readonly checkIntervalMs?: number;
  /** How often a held request looks for a healthy instance. Default 200 ms. */
  readonly pollMs?: number;
}

/** `svc.<project>.<environment>.<service>` (router/routes.ts `backendName`) -> its parts. */
export function serviceOfBackend(backend: string): { project: string; environment: string; service: string } | undefined {
  const parts = backend.split(".");
  if (parts.length !== 4 || parts[0] !== "svc") return undefined;
  return { project: parts[1]!, environment: parts[2]!, service: parts[3]! };
}

const backendOf = (r: { project: string; environment: string; service: string }): string => `svc.${r.project}.${r.environment}.${r.service}`;

/**
 * Pure: the awake services whose idle time reached their `sleepAfter`, with that idle time.
 * `lastRequest` gives the last logged request per backend (ms), `since` the daemon's start.
 */
export function dueToSleep(rows: readonly SleeperRow[], lastRequest: (backend: string) => number | undefined, since: number, now: number): { row: SleeperRow; idleMs: number }[] {
  const out: { row: SleeperRow; idleMs: number }[] = [];
  for (const row of rows) {
    if (row.asleepSince !== null || row.sleepAfterMs <= 0) continue;
    const changed = Date.parse(row.changedAt);
    const active = Math.max(lastRequest(backendOf(row)) ?? 0, Number.isFinite(changed) ? changed : 0, since);
    const idleMs = now - active;
    if (idleMs >= row.sleepAfterMs) out.push({ row, idleMs });
  }
  return out;
}

export class Sleeper {
  readonly #d: SleeperDeps;
  readonly #lastRequest = new Map<string, number>();
  #since = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: SleeperDeps) {
    this.#d = deps;
    this.#since = deps.clock.now();
  }

  /** The router logged a request for `backend` (any status: a request is activity). */
  noteRequest(backend: string): void {
    this.#lastRequest.set(backend, this.#d.clock.now());
  }

  start(): void {
    this.#since = this.#d.clock.now();
    this.#timer = setInterval(() => this.tick(), this.#d.checkIntervalMs ?? 15_000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Records "asleep" for every service idle past its `sleepAfter`. */
  tick(): void {
    const { store, clock, events } = this.#d;
    const now = clock.now();
    const at = new Date(now).toISOString();
    for (const { row, idleMs } of dueToSleep(store.services.sleepers(), (b) => this.#lastRequest.get(b), this.#since, now)) {
      if (!store.services.setAsleep(row.serviceId, at, at)) continue;
      events.emit({ type: "service:asleep", scope: { project: row.project, environment: row.environment, service: row.service }, data: { idleMs, sleepAfterMs: row.sleepAfterMs } });
      this.#d.requestReconcile(row.environmentId);
    }
  }

  /**
   * The waker's side: records "awake" (if it slept) and resolves with a healthy instance of the
   * service, or undefined when `signal` ends first. Many held requests share one wake intent.
   */
  async wake(backend: string, signal: AbortSignal): Promise<Endpoint | undefined> {
    const { store, clock, events, engine } = this.#d;
    const ref = serviceOfBackend(backend);
    if (!ref) return undefined;
    this.noteRequest(backend);
    const envId = store.environments.idByName(ref.project, ref.environment);
    const row = envId ? store.services.byName(envId, ref.service) : undefined;
    if (!envId || !row) return undefined;
    const t0 = clock.now();
    const at = new Date(t0).toISOString();
    const woke = row.asleepSince !== null && store.services.setAsleep(row.id, null, at);
    if (woke) {
      events.emit({ type: "service:waking", scope: ref, data: { reason: "request" } });
      this.#d.requestReconcile(envId);
    }
    while (!signal.aborted) {
      const actual = await engine.actual({ project: ref.project, environment: ref.environment });
      const up = actual.find((a) => a.ref.service === ref.service)?.instances.find((i) => i.state === "healthy" && i.endpoint);
      if (up?.endpoint) {
        if (woke) events.emit({ type: "service:awake", scope: ref, data: { ms: clock.now() - t0 } });
        return up.endpoint;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.#d.pollMs ?? 200);
        signal.addEventListener(
          "abort",
          () => {
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
    }
    return undefined;
  }
}
