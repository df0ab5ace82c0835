/**
 * Short-lived Redis clients for Berth's own calls (admin commands, probes, queue depth): no
 * reconnects, one retry, errors reported by the rejected call rather than an `error` event.
 * ioredis (~2 MB of heap, ~10 MB of RSS) is loaded on the first call: a daemon whose stacks have
 * no key-value store never loads it.
 */
import type { Redis } from "ioredis";

const load = () => import("ioredis");
let loaded: ReturnType<typeof load> | undefined;

export async function redisClient(options: { host: string; port: number; password?: string; connectTimeout?: number }): Promise<Redis> {
  loaded ??= load();
  const { Redis } = await loaded;
  const c = new Redis({ ...options, password: options.password || undefined, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  c.on("error", () => {});
  return c;
}
