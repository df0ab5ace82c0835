/**
 * Queue depth from Redis: a list's length (LLEN), or a sorted set's size (ZCARD) for queues
 * kept that way (BullMQ's prioritized and delayed sets); BullMQ's wait list is `bull:<queue>:wait`.
 */
import { redisClient } from "../../core/redis-client.ts";

export async function redisQueueLength(connection: { host: string; port: number; password: string }, key: string): Promise<number> {
  const c = await redisClient({ ...connection, connectTimeout: 3000 });
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
