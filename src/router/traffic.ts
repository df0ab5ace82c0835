/**
 * The engine's `TrafficPort`, implemented over HAProxy's runtime API. Instances move in and out
 * of pre-declared server slots (`set server addr` + `state ready|drain|maint`), so a deploy never
 * reloads HAProxy and never drops a keep-alive connection.
 */
import { BerthError } from "../core/errors.ts";
import type { EventSink } from "../core/events.ts";
import type { Endpoint, ServiceRef, TrafficPort } from "../engine/engine.ts";
import { serviceKey } from "../engine/engine.ts";
import { slotName } from "./haproxy-config.ts";
import type { RuntimeApi } from "./runtime-api.ts";
import type { SlotRegistry } from "./slots.ts";

export interface TrafficDeps {
  /** The current worker's runtime API (it changes when HAProxy restarts). */
  readonly api: () => RuntimeApi;
  readonly slots: SlotRegistry;
  /** Backend name of a routed service, or undefined. */
  readonly backendOf: (ref: ServiceRef) => string | undefined;
  /** Re-renders and reloads after `slots.grow()`; only needed when a backend is full. */
  readonly growSlots: (backend: string) => Promise<void>;
  /** Serialises slot changes with configuration reloads. */
  readonly lock: <T>(fn: () => Promise<T>) => Promise<T>;
  readonly events?: EventSink;
  /** How long `add` waits for HAProxy's own health check to mark the server UP. */
  readonly healthTimeoutMs?: number;
  readonly pollMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class HaproxyTrafficPort implements TrafficPort {
  readonly #d: TrafficDeps;

  constructor(deps: TrafficDeps) {
    this.#d = deps;
  }

  #backend(service: ServiceRef): string {
    const b = this.#d.backendOf(service);
    if (!b) throw new BerthError("BERTH_ROUTER_UNKNOWN_SERVICE", { service: serviceKey(service) });
    return b;
  }

  /** Puts the endpoint into rotation and resolves once HAProxy's health check sees it UP. */
  async add(service: ServiceRef, instanceId: string, endpoint: Endpoint): Promise<void> {
    const backend = this.#backend(service);
    const slot = await this.#d.lock(async () => {
      const { slots } = this.#d;
      let n = slots.find(backend, instanceId);
      if (n === undefined) {
        n = slots.free(backend);
        if (n === undefined) {
          slots.grow(backend);
          await this.#d.growSlots(backend);
          n = slots.free(backend)!;
        }
      }
      slots.set(backend, n, instanceId, endpoint, "ready");
      const api = this.#d.api();
      await api.setServerAddr(backend, slotName(n), endpoint.host, endpoint.port);
      await api.setServerState(backend, slotName(n), "ready");
      return n;
    });
    const timeoutMs = this.#d.healthTimeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const stat = await this.#d.api().serverStat(backend, slotName(slot)).catch(() => undefined);
      if (stat && /^UP$|^no check$/.test(stat.status)) {
        this.#d.events?.emit({ type: "router:server-added", scope: service, data: { backend, instance: instanceId, endpoint: `${endpoint.host}:${endpoint.port}` } });
        return;
      }
      await sleep(this.#d.pollMs ?? 50);
    }
    await this.#park(backend, slot);
    throw new BerthError("BERTH_ROUTER_NOT_HEALTHY", { instance: instanceId, service: serviceKey(service), timeoutMs });
  }

  /** Drains (no new requests), waits for in-flight ones up to `drainMs`, then frees the slot. */
  async remove(service: ServiceRef, instanceId: string, options: { readonly drainMs: number }): Promise<void> {
    const backend = this.#d.backendOf(service);
    if (!backend) return;
    const slot = this.#d.slots.find(backend, instanceId);
    if (slot === undefined) return;
    const started = Date.now();
    await this.#d.lock(async () => {
      const entry = this.#d.slots.get(backend, slot);
      if (entry) this.#d.slots.set(backend, slot, instanceId, entry.endpoint, "drain");
      await this.#d.api().setServerState(backend, slotName(slot), "drain");
    });
    const deadline = started + options.drainMs;
    while (Date.now() < deadline) {
      const stat = await this.#d.api().serverStat(backend, slotName(slot)).catch(() => undefined);
      if (!stat || stat.currentSessions === 0) break;
      await sleep(this.#d.pollMs ?? 50);
    }
    await this.#park(backend, slot);
    this.#d.events?.emit({ type: "router:server-removed", scope: service, data: { backend, instance: instanceId, drainedMs: Date.now() - started } });
  }

  /** Maintenance + kill leftover sessions + free the slot. */
  async #park(backend: string, slot: number): Promise<void> {
    await this.#d.lock(async () => {
      const api = this.#d.api();
      await api.setServerState(backend, slotName(slot), "maint");
      await api.shutdownSessions(backend, slotName(slot));
      this.#d.slots.release(backend, slot);
    });
  }
}
