/** Test and bench fixtures: a job's task target without a deployed release. */
import type { Release, ServiceRef, ServiceSpec } from "../../engine/engine.ts";
import type { TaskResolver, TaskTarget } from "../task.ts";

/** A cron service spec and a release pointing at `dir`, enough for a TaskRunner. */
export function fixtureTarget(ref: ServiceRef, dir = "/tmp"): TaskTarget {
  const service: ServiceSpec = {
    ref,
    kind: "cron",
    replicas: 0,
    singleton: false,
    start: "",
    listens: false,
    health: { intervalMs: 1000, timeoutMs: 1000, unhealthyThreshold: 3, healthyThreshold: 1, graceMs: 0, deployTimeoutMs: 1000 },
    restart: { policy: "never" },
    shutdownDelayMs: 1000,
    limits: {},
    disks: [],
  };
  const release: Release = { id: "rel_fixture", number: 1, service: ref, artifact: { kind: "dir", path: dir, digest: "fixture" }, sealedEnv: "" };
  return { service, release };
}

/** Resolves every job to `fixtureTarget(job.ref, dir)`. */
export function fixtureResolver(dir = "/tmp"): TaskResolver {
  return async (job) => fixtureTarget(job.ref, dir);
}
