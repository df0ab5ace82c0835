/**
 * Which instance sits in which server slot of which backend. The renderer reads it (so a reload
 * keeps the instances where they are) and the traffic port writes it. No I/O.
 */
import type { Endpoint } from "../engine/engine.ts";
import type { SlotState } from "./haproxy-config.ts";

export interface SlotEntry extends SlotState {
  readonly instanceId: string;
}

export class SlotRegistry {
  readonly minSlots: number;
  readonly #slots = new Map<string, Map<number, SlotEntry>>();
  readonly #counts = new Map<string, number>();

  constructor(minSlots = 4) {
    this.minSlots = Math.max(1, minSlots);
  }

  count(backend: string): number {
    return this.#counts.get(backend) ?? this.minSlots;
  }

  /** Doubles the slots of a backend; the next render (and reload) makes them real. */
  grow(backend: string): void {
    this.#counts.set(backend, this.count(backend) * 2);
  }

  find(backend: string, instanceId: string): number | undefined {
    for (const [n, e] of this.#slots.get(backend) ?? []) if (e.instanceId === instanceId) return n;
    return undefined;
  }

  get(backend: string, slot: number): SlotEntry | undefined {
    return this.#slots.get(backend)?.get(slot);
  }

  /** Lowest free slot number, or undefined when all are taken. */
  free(backend: string): number | undefined {
    const used = this.#slots.get(backend);
    for (let n = 1; n <= this.count(backend); n++) if (!used?.has(n)) return n;
    return undefined;
  }

  set(backend: string, slot: number, instanceId: string, endpoint: Endpoint, state: SlotState["state"]): void {
    let m = this.#slots.get(backend);
    if (!m) {
      m = new Map();
      this.#slots.set(backend, m);
    }
    m.set(slot, { instanceId, endpoint, state });
  }

  release(backend: string, slot: number): void {
    this.#slots.get(backend)?.delete(slot);
  }

  /** Forgets backends that are no longer routed. */
  retain(backends: ReadonlySet<string>): void {
    for (const b of [...this.#slots.keys()]) if (!backends.has(b)) this.#slots.delete(b);
    for (const b of [...this.#counts.keys()]) if (!backends.has(b)) this.#counts.delete(b);
  }

  /** The view the renderer takes. */
  snapshot(): Map<string, Map<number, SlotState>> {
    const out = new Map<string, Map<number, SlotState>>();
    for (const [b, m] of this.#slots) out.set(b, new Map([...m].map(([n, e]) => [n, { endpoint: e.endpoint, state: e.state }])));
    return out;
  }

  entries(): Array<{ backend: string; slot: number; entry: SlotEntry }> {
    const out: Array<{ backend: string; slot: number; entry: SlotEntry }> = [];
    for (const [backend, m] of this.#slots) for (const [slot, entry] of m) out.push({ backend, slot, entry });
    return out;
  }
}
