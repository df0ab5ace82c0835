/**
 * The health gate handed to engines: HTTP services must answer their health path with a 2xx/3xx
 * `healthyThreshold` times in a row; services without a port must stay alive through the grace
 * period. The result carries the last response or error, which a failed deploy reports.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { HealthGate, HealthResult, HealthSpec } from "../engine/engine.ts";
import { probe } from "../engine/http-probe.ts";

export const httpHealthGate: HealthGate = {
  async wait(instance, spec: HealthSpec, signal): Promise<HealthResult> {
    const deadline = Date.now() + spec.deployTimeoutMs;
    let last: HealthResult = { ok: false, detail: "not probed yet" };
    if (!spec.path || !instance.endpoint) {
      // No port: alive through the grace period is the gate.
      const until = Date.now() + spec.graceMs;
      while (Date.now() < until) {
        if (!instance.alive()) return { ok: false, detail: "exited during the grace period" };
        await sleep(Math.min(200, spec.intervalMs), undefined, { signal });
      }
      return instance.alive() ? { ok: true, detail: "alive through the grace period" } : { ok: false, detail: "exited" };
    }
    let streak = 0;
    while (Date.now() < deadline) {
      if (!instance.alive()) return { ok: false, detail: `exited before becoming healthy (last: ${last.detail})` };
      last = await probe(instance.endpoint, spec.path, spec.timeoutMs);
      streak = last.ok ? streak + 1 : 0;
      if (streak >= spec.healthyThreshold) return last;
      // A deploy waits on this: poll faster than the steady-state interval.
      await sleep(Math.min(spec.intervalMs, 250), undefined, { signal });
    }
    return { ok: false, detail: `not healthy within ${spec.deployTimeoutMs} ms (last: ${last.detail})` };
  },
};
