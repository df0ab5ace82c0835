/**
 * Continued health checks after deploy: an HTTP GET of the health path every `intervalMs`;
 * `unhealthyThreshold` failures in a row report the instance unhealthy (once per episode).
 */
import type { Endpoint, HealthSpec } from "../engine.ts";
import { probe } from "../http-probe.ts";


export interface HealthMonitor {
  stop(): void;
}

export function monitorHealth(endpoint: Endpoint, spec: HealthSpec & { readonly path: string }, onUnhealthy: (reason: string) => void): HealthMonitor {
  let failures = 0;
  let reported = false;
  let stopped = false;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy || stopped) return;
    busy = true;
    const r = await probe(endpoint, spec.path, spec.timeoutMs);
    busy = false;
    if (stopped) return;
    if (r.ok) {
      failures = 0;
      reported = false;
      return;
    }
    failures++;
    if (failures >= spec.unhealthyThreshold && !reported) {
      reported = true;
      onUnhealthy(`${failures} failed health checks on ${spec.path}: ${r.detail}`);
    }
  }, Math.max(50, spec.intervalMs));
  timer.unref();
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
