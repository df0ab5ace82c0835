import assert from "node:assert/strict";
import { test } from "node:test";
import type { ActualService, ServiceSpec } from "../engine/engine.ts";
import { type DesiredService, plan } from "./plan.ts";

const spec = (service: string, replicas = 2): ServiceSpec => ({
  ref: { project: "p", environment: "e", service },
  kind: "web",
  replicas,
  singleton: false,
  start: "node server.js",
  listens: true,
  health: { path: "/health", intervalMs: 1000, timeoutMs: 5000, unhealthyThreshold: 3, healthyThreshold: 1, graceMs: 0, deployTimeoutMs: 60000 },
  restart: { policy: "always" },
  shutdownDelayMs: 30000,
  limits: {},
  disks: [],
});
const desired = (service: string, over: Partial<DesiredService> = {}): DesiredService => ({
  serviceId: `svc_${service}`,
  spec: spec(service),
  inputsDigest: "d1",
  release: { id: `rel_${service}_1`, inputsDigest: "d1" },
  failedDigest: null,
  ...over,
});
const actual = (service: string, releaseId: string, running = 2, s = spec(service)): ActualService => ({
  ref: s.ref,
  spec: s,
  releaseId,
  instances: Array.from({ length: running }, (_, i) => ({ id: `i${i}`, releaseId, releaseNumber: 1, state: "healthy" as const, restarts: 0, startedAt: "" })),
});

test("nothing to do when desired and actual agree", () => {
  assert.deepEqual(plan([desired("api")], [actual("api", "rel_api_1")]), []);
});

test("a service with no release gets one cut first, and is applied on the next pass", () => {
  assert.deepEqual(
    plan([desired("api", { release: undefined })], []).map((s) => [s.kind, s.service, s.reason]),
    [["release", "api", "no release yet"]],
  );
});

test("changed inputs cut a new release; a new release is applied", () => {
  assert.equal(plan([desired("api", { inputsDigest: "d2" })], [actual("api", "rel_api_1")])[0]?.kind, "release");
  const steps = plan([desired("api", { release: { id: "rel_api_2", inputsDigest: "d1" } })], [actual("api", "rel_api_1")]);
  assert.deepEqual(steps.map((s) => [s.kind, s.reason]), [["apply", "new release"]]);
});

test("missing instances and spec changes re-apply; removed services are removed last", () => {
  const steps = plan([desired("api"), desired("web", { spec: spec("web", 3) })], [actual("api", "rel_api_1", 1), actual("web", "rel_web_1", 2), actual("old", "rel_old_1")]);
  assert.deepEqual(
    steps.map((s) => [s.kind, s.service, s.reason]),
    [
      ["apply", "api", "1 of 2 instances"],
      ["apply", "web", "spec changed"],
      ["remove", "old", "not in the blueprint"],
    ],
  );
});

test("inputs that failed are not retried until they change; the last good release keeps being enforced", () => {
  const failed = desired("api", { inputsDigest: "d2", failedDigest: "d2" });
  assert.deepEqual(plan([failed], [actual("api", "rel_api_1")]), []);
  assert.deepEqual(plan([failed], [actual("api", "rel_api_1", 1)]).map((s) => s.reason), ["1 of 2 instances"]);
  assert.deepEqual(plan([desired("api", { release: undefined, failedDigest: "d1" })], []), []);
});

test("a first deploy that failed is not re-deployed on every pass (issue 15: 55 failed deploys in 4 minutes)", () => {
  // The release exists (its rollout failed), there is no older release to fall back on.
  const firstFailed = desired("api", { failedDigest: "d1" });
  assert.deepEqual(plan([firstFailed], []), []);
  // New inputs try again.
  assert.deepEqual(plan([desired("api", { inputsDigest: "d2", failedDigest: "d1" })], []).map((s) => [s.kind, s.reason]), [["release", "inputs changed"]]);
});

test("a release sealed with addresses that moved since is re-cut; unknown digests are not compared", () => {
  const sealed = { id: "rel_api_1", inputsDigest: "d1", addressesDigest: "a1" };
  assert.deepEqual(plan([desired("api", { release: sealed, addressesDigest: "a1" })], [actual("api", "rel_api_1")]), []);
  assert.deepEqual(
    plan([desired("api", { release: sealed, addressesDigest: "a2" })], [actual("api", "rel_api_1")]).map((s) => [s.kind, s.reason]),
    [["release", "resolved addresses changed"]],
  );
  // A release from before addresses were recorded, or a sealer that does not report them: no churn.
  assert.deepEqual(plan([desired("api", { addressesDigest: "a2" })], [actual("api", "rel_api_1")]), []);
  assert.deepEqual(plan([desired("api", { release: sealed })], [actual("api", "rel_api_1")]), []);
  // Blocked inputs are not re-cut for an address change (the current inputs are the failed ones).
  assert.deepEqual(plan([desired("api", { release: sealed, addressesDigest: "a2", inputsDigest: "d2", failedDigest: "d2" })], [actual("api", "rel_api_1")]), []);
});

test("a spec read back with its keys in another order is the same spec (adopted services are not replaced)", () => {
  const s = spec("api");
  // What a schema with the known keys first (the local engine's records) gives back.
  const { ref, start, restart, health, ...rest } = s;
  const reordered = JSON.parse(JSON.stringify({ ref, start, restart, health, ...rest })) as ServiceSpec;
  assert.notEqual(JSON.stringify(reordered), JSON.stringify(s));
  assert.deepEqual(plan([desired("api")], [actual("api", "rel_api_1", 2, reordered)]), []);
});
