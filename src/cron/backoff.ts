/** Retry delays: exponential backoff with jitter, pure (randomness is passed in). */
import type { RetrySettings } from "./job.ts";

/**
 * Delay before retry number `retry` (1 = the first retry). `random` is in [0, 1); jitter spreads
 * the delay over [d*(1-jitter), d] so that jobs failing together do not retry together.
 */
export function retryDelayMs(settings: RetrySettings, retry: number, random: number): number {
  const base = Math.min(settings.maxDelayMs, settings.initialDelayMs * settings.factor ** Math.max(0, retry - 1));
  return Math.round(base * (1 - settings.jitter * random));
}
