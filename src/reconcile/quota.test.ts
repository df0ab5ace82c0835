import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBlueprint, resolveEnvironment } from "../blueprint/index.ts";
import { BerthError } from "../core/errors.ts";
import { DEFAULT_PROJECT_QUOTA } from "../core/limits.ts";
import { checkQuota, environmentUsage } from "./quota.ts";

const usage = (text: string) => {
  const r = parseBlueprint(text, { file: "berth.yaml" });
  if (!r.ok) throw new Error(r.errors[0]!.message);
  return environmentUsage("production", resolveEnvironment(r.blueprint, "production"));
};

test("issue 17: instances count autoscaled services at their maximum, memory at the default limit", () => {
  const u = usage(`version: 1
project: p
services:
  api: { type: web, start: x, scaling: { min: 1, max: 8, cpu: 70% } }
  worker: { type: worker, start: x, replicas: 3, limits: { memory: 1gb } }
  files: { type: worker, start: x, disks: [{ name: d, mountPath: /data, size: 10gb }] }
`);
  assert.deepEqual(u.map((x) => [x.service, x.instances, x.memoryBytes / 1024 ** 2, x.diskBytes / 1024 ** 3]), [["api", 8, 8 * 512, 0], ["worker", 3, 3 * 1024, 0], ["files", 1, 512, 10]]);
  checkQuota("p", u, DEFAULT_PROJECT_QUOTA);
});

test("issue 17: over a quota, the error names the quota and the biggest users", () => {
  const u = usage("version: 1\nproject: p\nservices:\n  api: { type: web, start: x, replicas: 60 }\n");
  assert.throws(
    () => checkQuota("p", u, DEFAULT_PROJECT_QUOTA),
    (e: unknown) => e instanceof BerthError && e.code === "BERTH_QUOTA_EXCEEDED" && /would use 60 instances, over its quota of 50 \(production\/api 60\)/.test(e.message),
  );
  assert.throws(() => checkQuota("p", usage("version: 1\nproject: p\nservices:\n  api: { type: web, start: x, replicas: 40, limits: { memory: 1gb } }\n"), DEFAULT_PROJECT_QUOTA), /40 GiB of memory, over its quota of 16 GiB/);
});
