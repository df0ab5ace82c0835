/**
 * Shared queue package: the `webhooks` BullMQ queue (its wait list, `bull:webhooks:wait`, is what
 * the blueprint scales the worker on) and Redis connections.
 */
import { Redis } from "ioredis";

export const WEBHOOK_QUEUE = "webhooks";

/** A connection for BullMQ queues and workers (blocking commands, retried forever). */
export function queueConnection(url) {
  return new Redis(url, { maxRetriesPerRequest: null });
}

/** A connection for health checks: fails fast instead of queueing commands while Redis is down. */
export function probeConnection(url) {
  const r = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 });
  r.on("error", () => {}); // reported through /health, not as an unhandled event
  return r;
}
