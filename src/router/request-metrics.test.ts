import assert from "node:assert/strict";
import { test } from "node:test";
import { latencyBucket, RequestMetricsStore } from "./request-metrics.ts";

test("latency buckets are exact below 100 ms and two significant digits above", () => {
  assert.deepEqual([0, 7, 99, 101, 149, 1234, 98_765].map(latencyBucket), [0, 7, 99, 110, 150, 1300, 99_000]);
});

test("status counts by class and code, and p50/p95/p99 per backend", () => {
  const store = new RequestMetricsStore();
  for (let i = 1; i <= 100; i++) store.record({ backend: "b", status: i <= 90 ? 200 : 503, totalMs: i, serverMs: i, bytes: 10 });
  store.record({ backend: "other", status: -1, totalMs: -1, serverMs: -1, bytes: 0 });
  const m = store.get("b")!;
  assert.equal(m.requests, 100);
  assert.deepEqual(m.statusClasses, { "2xx": 90, "5xx": 10 });
  assert.deepEqual(m.statusCodes, { "200": 90, "503": 10 });
  assert.deepEqual(m.latencyMs, { p50: 50, p95: 95, p99: 99, max: 100 });
  assert.equal(store.get("other")!.statusClasses.aborted, 1);
  assert.equal(store.get("missing"), undefined);
});

test("sampled logs scale counts", () => {
  const store = new RequestMetricsStore(10);
  store.record({ backend: "b", status: 200, totalMs: 3, serverMs: 2, bytes: 5 });
  assert.equal(store.get("b")!.requests, 10);
  assert.equal(store.get("b")!.sampleEvery, 10);
});
