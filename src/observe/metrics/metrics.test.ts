import assert from "node:assert/strict";
import { test } from "node:test";
import { ManualClock } from "../../core/clock.ts";
import { openDb } from "../../store/db.ts";
import { MetricsRepository } from "../../store/repositories/metrics.ts";
import { MetricsCollector } from "./collector.ts";
import { cumulative, latencyBucket, quantile } from "./histogram.ts";
import { series, summarize, summarizeEnvironment } from "./query.ts";
import { requestRecorder } from "./requests.ts";

const ref = { project: "p", environment: "prod", service: "api" };

test("histogram buckets and quantiles from merged counts", () => {
  assert.deepEqual([0, 7, 99, 101, 149, 1234].map(latencyBucket), [0, 7, 99, 110, 150, 1300]);
  const h: Record<string, number> = { "5": 90, "300": 10 };
  assert.deepEqual([quantile(h, 0.5), quantile(h, 0.9), quantile(h, 0.91), quantile({}, 0.5)], [5, 5, 300, 0]);
  assert.deepEqual(cumulative(h).slice(0, 7), [90, 90, 90, 90, 90, 90, 100]);
});

test("points roll up into 5-minute points with the same totals and percentiles, then expire", () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const repo = new MetricsRepository(openDb(":memory:"));
  const c = new MetricsCollector({ repo, clock, rawRetentionMs: 3_600_000, rollupRetentionMs: 2 * 86_400_000 });
  const record = requestRecorder(c);
  for (let i = 0; i < 60; i++) {
    for (let r = 0; r < 10; r++) record({ backend: "svc.p.prod.api", status: r === 0 ? 503 : 200, totalMs: r === 9 ? 800 : 4, instance: "i1" });
    c.gauge({ ...ref, instance: "", name: "cpu.percent" }, i % 2 ? 10 : 30);
    c.flush();
    clock.advance(10_000);
  }
  const startS = Date.UTC(2026, 0, 1) / 1000;
  const before = summarize(repo, ref, startS, startS + 600);
  assert.deepEqual([before.requests, before.statusClasses["5xx"], before.latencyMs.p50, before.latencyMs.p95, before.cpuPercent?.avg], [600, 60, 4, 800, 20]);
  clock.advance(2 * 3_600_000);
  c.maintain();
  const after = summarize(repo, ref, startS, startS + 600);
  assert.deepEqual(after, before, "rolled up: same totals");
  assert.ok(repo.query({ ...ref, names: ["http.2xx"], fromS: startS }).every((p) => p.resS === 300));
  const s = series(repo, ref, startS, startS + 599, 300);
  assert.deepEqual(s.requests, [300, 300]);
  assert.deepEqual(s.errorRate, [0.1, 0.1]);
  clock.advance(3 * 86_400_000);
  c.maintain();
  assert.equal(summarize(repo, ref, startS, startS + 600).requests, 0, "past retention");
});

test("running totals keep counting across flushes (Prometheus)", () => {
  const c = new MetricsCollector({ repo: new MetricsRepository(openDb(":memory:")), clock: new ManualClock() });
  c.count({ ...ref, instance: "", name: "restarts" });
  c.flush();
  c.count({ ...ref, instance: "", name: "restarts" }, 2);
  assert.equal(c.totals().find((t) => t.key.name === "restarts")!.value, 3);
});

test("an interval closed by a later one before a flush is still written; series of replaced instances are forgotten", () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const repo = new MetricsRepository(openDb(":memory:"));
  const c = new MetricsCollector({ repo, clock });
  const key = { ...ref, instance: "old", name: "memory.bytes" };
  c.gauge(key, 10);
  clock.advance(10_000);
  c.gauge({ ...key }, 30); // a fresh key object, as the sampler makes, and a new interval with no flush between
  c.flush();
  const startS = Date.UTC(2026, 0, 1) / 1000;
  assert.deepEqual(
    repo.query({ ...ref, instance: "old", names: ["memory.bytes"], fromS: startS }).map((p) => [p.ts - startS, p.sum]),
    [
      [0, 10],
      [10, 30],
    ],
  );
  assert.equal(c.totals().length, 1, "one series for equal keys, whatever the key object");
  c.gauge({ ...ref, instance: "new", name: "memory.bytes" }, 5);
  clock.advance(16 * 60_000);
  c.gauge({ ...ref, instance: "new", name: "memory.bytes" }, 6);
  c.flush();
  c.maintain();
  assert.deepEqual(
    c.totals().map((t) => [t.key.instance, t.value]),
    [["new", 6]],
    "the old instance's series is forgotten after 15 minutes without an update",
  );
  c.gauge(key, 1); // its key object again: a new series
  assert.deepEqual(c.totals().map((t) => [t.key.instance, t.value]).sort(), [
    ["new", 6],
    ["old", 1],
  ]);
});

test("an environment's summaries from one query equal each service's own summary", () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const repo = new MetricsRepository(openDb(":memory:"));
  const c = new MetricsCollector({ repo, clock });
  const record = requestRecorder(c);
  for (let i = 0; i < 30; i++) {
    for (let r = 0; r < 8; r++) record({ backend: "svc.p.prod.api", status: r === 0 ? 500 : 200, totalMs: r === 7 ? 900 : 6, instance: "i1" });
    record({ backend: "svc.p.prod.web", status: 404, totalMs: 30, instance: "i2" });
    c.gauge({ ...ref, instance: "", name: "cpu.percent" }, i % 3 ? 15 : 60);
    c.gauge({ ...ref, service: "worker", instance: "", name: "memory.percent" }, 40 + i);
    c.gauge({ ...ref, environment: "staging", instance: "", name: "cpu.percent" }, 99);
    c.flush();
    clock.advance(10_000);
  }
  const startS = Date.UTC(2026, 0, 1) / 1000;
  const all = summarizeEnvironment(repo, { project: "p", environment: "prod" }, startS + 60, startS + 240);
  assert.deepEqual([...all.keys()].sort(), ["api", "web", "worker"]);
  for (const service of all.keys()) assert.deepEqual(all.get(service), summarize(repo, { ...ref, service }, startS + 60, startS + 240), service);
});

test("a sliced flush yields between slices, writes every point once, and stop() writes what is left", async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const repo = new MetricsRepository(openDb(":memory:"));
  const c = new MetricsCollector({ repo, clock });
  const feed = () => {
    for (let i = 0; i < 1200; i++) c.gauge({ ...ref, instance: `i${i}`, name: "cpu.percent" }, 5);
  };
  const stored = () => repo.query({ ...ref, instance: "*", names: ["cpu.percent"], fromS: 0 }).reduce((n, p) => n + p.count, 0);
  feed();
  let turns = 0;
  const ticking = setInterval(() => turns++, 0);
  await c.flushInSlices(100);
  clearInterval(ticking);
  assert.equal(stored(), 1200);
  assert.ok(turns > 0, "timers ran between slices");
  // Stopped half-way: the remaining slices land at stop, none twice.
  feed();
  const flushing = c.flushInSlices(100);
  c.stop();
  await flushing;
  assert.equal(stored(), 2400);
});
