import assert from "node:assert/strict";
import { test } from "node:test";
import type { ActualService, InstanceState } from "../engine/engine.ts";
import { environmentHealth, type ServiceHealthInput } from "./env-health.ts";

const svc = (name: string, over: Partial<ServiceHealthInput> = {}): ServiceHealthInput => ({ name, kind: "web", replicas: 2, desiredReleaseId: "r2", blocked: false, ...over });
const running = (name: string, states: InstanceState[], releaseId = "r2"): ActualService =>
  ({
    ref: { project: "p", environment: "e", service: name },
    releaseId,
    instances: states.map((state, i) => ({ id: `${name}-${i}`, releaseId, releaseNumber: 2, state, restarts: 0, startedAt: "" })),
  }) as unknown as ActualService;

test("live only when every service has its desired healthy instances of its desired release", () => {
  assert.deepEqual(environmentHealth([svc("web"), svc("worker", { kind: "worker", replicas: 1 })], [running("web", ["healthy", "healthy"]), running("worker", ["healthy"])]), {
    status: "live",
    detail: null,
  });
});

test("a crash-looping service makes the environment degraded, naming it", () => {
  const h = environmentHealth([svc("web"), svc("worker", { kind: "worker", replicas: 1 })], [running("web", ["healthy", "healthy"]), running("worker", ["crash-looping"])]);
  assert.equal(h.status, "degraded");
  assert.equal(h.detail, "worker: 0/1 healthy (crash-looping)");
});

test("instances of an older release do not count; a missing service is not running; blocked inputs say how to retry", () => {
  const h = environmentHealth([svc("web"), svc("api"), svc("cron", { kind: "cron", replicas: 0 }), svc("bad", { blocked: true })], [running("web", ["healthy", "healthy"], "r1")]);
  assert.equal(h.status, "degraded");
  assert.match(h.detail!, /web: 0\/2 healthy/);
  assert.match(h.detail!, /api: 0\/2 healthy \(not running\)/);
  assert.match(h.detail!, /bad: last deploy failed; not retried until its inputs change \(berth deploy --retry\)/);
  assert.doesNotMatch(h.detail!, /cron/);
});

test("the detail names the first ten problems and counts the rest", () => {
  const many = Array.from({ length: 25 }, (_, i) => svc(`s${i}`));
  const h = environmentHealth(many, []);
  assert.equal(h.detail!.split("; ").length, 11);
  assert.match(h.detail!, /; and 15 more$/);
});
