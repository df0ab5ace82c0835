import assert from "node:assert/strict";
import { test } from "node:test";
import type { Artifact } from "../engine/engine.ts";
import { planPromotion, type PromotionInput, type SourceService } from "./promotion.ts";

const artifact = (digest: string): Artifact => ({ kind: "dir", path: `/artifacts/${digest}`, digest });
const live = (name: string, release: number, digest: string): SourceService => ({ name, live: { release, source: { kind: "dir", path: "/src", revision: `rev-${digest}` }, artifact: artifact(digest) } });
const base: PromotionInput = { project: "shop", from: "staging", to: "production", selection: "all", source: [live("web", 3, "aaa"), live("worker", 2, "bbb")], target: undefined };

test("--all pins every service to the source's live release and records the source's blueprint", () => {
  const plan = planPromotion(base);
  assert.equal(plan.ok, true);
  if (!plan.ok) return;
  assert.equal(plan.blueprintOf, "source");
  assert.deepEqual(plan.services, ["web", "worker"]);
  assert.deepEqual(plan.pins.web, { environment: "staging", release: 3, source: { kind: "dir", path: "/src", revision: "rev-aaa" }, artifact: artifact("aaa") });
  assert.equal(plan.pins.worker?.artifact.digest, "bbb");
});

test("a service without a live release in the source is refused, naming it", () => {
  const plan = planPromotion({ ...base, source: [live("web", 3, "aaa"), { name: "worker", live: undefined }] });
  assert.equal(plan.ok, false);
  if (!plan.ok) assert.deepEqual([plan.code, plan.params], ["BERTH_PROMOTE_NOT_LIVE", { environment: "shop/staging", services: "worker" }]);
  const empty = planPromotion({ ...base, source: [] });
  assert.equal(!empty.ok && empty.code, "BERTH_PROMOTE_NOT_LIVE");
});

test("a single service is promoted into the target's own blueprint, which must have it", () => {
  const plan = planPromotion({ ...base, selection: ["web"], target: ["web", "worker"] });
  assert.equal(plan.ok, true);
  if (plan.ok) {
    assert.equal(plan.blueprintOf, "target");
    assert.deepEqual(Object.keys(plan.pins), ["web"]);
  }
  const never = planPromotion({ ...base, selection: ["web"], target: undefined });
  assert.equal(!never.ok && never.code, "BERTH_PROMOTE_INVALID");
  assert.match(String(!never.ok && never.params.detail), /never deployed/);
  const missing = planPromotion({ ...base, selection: ["web"], target: ["worker"] });
  assert.match(String(!missing.ok && missing.params.detail), /shop\/production has no service web/);
  const unknown = planPromotion({ ...base, selection: ["api"], target: ["web"] });
  assert.match(String(!unknown.ok && unknown.params.detail), /shop\/staging has no service api/);
});

test("promoting an environment onto itself is refused", () => {
  const plan = planPromotion({ ...base, to: "staging" });
  assert.equal(!plan.ok && plan.code, "BERTH_PROMOTE_INVALID");
});
