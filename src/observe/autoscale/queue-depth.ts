/**
 * Queue depth from Redis: a list's length (LLEN), or a sorted set's size (ZCARD) for queues
 * kept that way (BullMQ's prioritized and delayed sets); BullMQ's wait list is `bull:<queue>:wait`.
 */
import { Redis } from "ioredis";

export async function redisQueueLength(connection: { host: string; port: number; password: string }, key: string): Promise<number> {
  const c = new Redis({ host: connection.host, port: connection.port, password: connection.password || undefined, lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000, retryStrategy: () => null });
  c.on("error", () => {}); // reported by the rejected call below
  try {
    await c.connect();
    const type = await c.type(key);
    if (type === "list") return await c.llen(key);
    if (type === "zset") return await c.zcard(key);
    return 0;
  } finally {
    c.disconnect();
  }
}
