/**
 * PORT values for listening instances: the lowest port of the range that no instance holds and
 * that nothing else on the host is bound to. An instance keeps its port across restarts.
 */
import { randomInt } from "node:crypto";
import { createServer } from "node:net";
import { BerthError } from "../../core/errors.ts";

export interface PortRange {
  readonly first: number;
  readonly last: number;
}

export const defaultPortRange: PortRange = { first: 20_000, last: 29_999 };

/** True when 127.0.0.1:port can be bound right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export class PortPool {
  readonly #range: PortRange;
  readonly #held = new Set<number>();
  #next: number;

  constructor(range: PortRange) {
    this.#range = range;
    // A random starting point: engines of several daemons on one host (tests, side-by-side
    // BERTH_DATA_DIRs) rarely race for the same free port between the probe and the bind.
    this.#next = range.first + randomInt(range.last - range.first + 1);
  }

  /** Marks a port as taken (adopted instances). */
  hold(port: number): void {
    this.#held.add(port);
  }

  release(port: number): void {
    this.#held.delete(port);
  }

  /** Takes a free port, scanning round-robin so a just-released port is not reused at once. */
  async take(service: string): Promise<number> {
    const size = this.#range.last - this.#range.first + 1;
    for (let i = 0; i < size; i++) {
      const port = this.#next;
      this.#next = port >= this.#range.last ? this.#range.first : port + 1;
      if (this.#held.has(port)) continue;
      this.#held.add(port);
      if (await portIsFree(port)) return port;
      this.#held.delete(port);
    }
    throw new BerthError("BERTH_ENGINE_NO_PORT", { range: `${this.#range.first}-${this.#range.last}`, service });
  }
}
