import assert from "node:assert/strict";
import { test } from "node:test";
import { decideScale, type ScaleHistory, type ScalingPolicy } from "./decide.ts";

const policy: ScalingPolicy = { min: 1, max: 5, queue: { targetPerReplica: 10 }, targetCpuPercent: 70, stabilizationWindowMs: 60_000, cooldownMs: 10_000 };
const empty: ScaleHistory = { recommendations: [] };

test("queue depth and CPU each recommend; the highest wins, clamped to max", () => {
  assert.equal(decideScale(policy, 1, { queueLength: 35 }, empty, 0).replicas, 4);
  assert.equal(decideScale(policy, 2, { queueLength: 0, cpuPercent: 140 }, empty, 0).replicas, 4);
  const pinned = decideScale(policy, 1, { queueLength: 500 }, empty, 0);
  assert.deepEqual([pinned.replicas, pinned.wanted, pinned.metric], [5, 50, "queue"]);
  assert.equal(decideScale(policy, 2, { cpuPercent: 75 }, empty, 0).reason, "at target", "within the 10 % tolerance");
});

test("scale-down waits for the stabilization window; cooldown spaces changes", () => {
  let h: ScaleHistory = empty;
  let replicas = 1;
  const step = (t: number, queueLength: number) => {
    const d = decideScale(policy, replicas, { queueLength }, h, t);
    h = d.history;
    replicas = d.replicas;
    return replicas;
  };
  assert.equal(step(0, 40), 4);
  assert.equal(step(5_000, 50), 4, "cooldown: no change 5 s after the last");
  assert.equal(step(15_000, 50), 5);
  assert.equal(step(20_000, 0), 5, "the window still holds higher recommendations");
  assert.equal(step(50_000, 0), 5);
  assert.equal(step(76_000, 0), 1, "a whole window of low recommendations");
  assert.equal(decideScale({ ...policy, min: 2 }, 1, {}, empty, 0).replicas, 2, "never below min");
});
