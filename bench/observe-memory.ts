/**
 * Issue 18: the daemon's memory with metrics for 20 services over an hour of samples, and alert
 * latency from cause to receiver. One in-process daemon (memory engine, router off, as
 * bench/daemon-idle.ts), 20 web services with 2 instances each. An hour is fed in simulated time:
 * 360 intervals of 10 s, each with 100 requests per service (mixed statuses and latencies, per
 * instance) and a CPU/memory sample per instance, flushed to SQLite as the daemon does. Prints
 * RSS before and after (peak), the store's size, and how long reads of that hour take.
 * Alert latency: a crash-loop event emitted -> the webhook body at a local receiver, 20 times.
 *
 *   node --expose-gc bench/observe-memory.ts
 */
import { mkdtempSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveConfig } from "../src/core/config.ts";
import { MemoryEngine } from "../src/engine/memory/memory-engine.ts";
import { summarize } from "../src/observe/metrics/query.ts";
import { renderPrometheus } from "../src/observe/metrics/prometheus.ts";
import { startDaemon } from "../src/server.ts";

const SERVICES = 20;
const INTERVALS = 360;
let offsetMs = 0;
const clock = { now: () => Date.now() + offsetMs };

const receiverTimes: number[] = [];
const receiver = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    receiverTimes.push(performance.now());
    res.end();
  });
});
await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
const hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;

const dataDir = mkdtempSync(join(tmpdir(), "berth-bench-obs-"));
const config = resolveConfig({ flags: { "data-dir": dataDir, listen: "127.0.0.1:0", engine: "memory" }, env: { BERTH_ROUTER: "off", BERTH_RESYNC_INTERVAL_MS: "600000" }, isRoot: false });
const daemon = await startDaemon(config, {
  engine: ({ bus, openEnv }) => new MemoryEngine({ events: bus, openEnv }),
  print: () => {},
  health: { wait: async (i) => (i.alive() ? { ok: true, detail: "alive" } : { ok: false, detail: "exited" }) },
  listen: false,
  clock,
});
const services = Array.from({ length: SERVICES }, (_, i) => `  s${i}: { type: web, start: node server.js, replicas: 2, limits: { memory: 256mb } }`).join("\n");
const yaml = `version: 1\nproject: bench\nservices:\n${services}\nenvGroups:\n  alerting:\n    HOOK_SECRET: { secret: true }\nalerts:\n  channels:\n    hook: { type: webhook, url: "${hookUrl}", secret: { fromGroup: alerting.HOOK_SECRET } }\n`;
const src = join(dataDir, "src");
mkdirSync(src);
writeFileSync(join(src, "berth.yaml"), yaml);
writeFileSync(join(src, "server.js"), "");
daemon.api; // built
const token = daemon.ownerToken!;
const res = await daemon.api.inject({ method: "POST", url: "/v1/sync", headers: { authorization: `Bearer ${token}` }, payload: { environment: "production", blueprint: yaml, sourceDir: src } });
if (res.statusCode !== 202) throw new Error(res.body);
// The webhook's signing key lives in the secret store (set once the first sync created the project).
const set = await daemon.api.inject({ method: "PUT", url: "/v1/projects/bench/environments/production/secrets", headers: { authorization: `Bearer ${token}` }, payload: { owner: "group:alerting", values: { HOOK_SECRET: "bench-secret" } } });
if (set.statusCode !== 200) throw new Error(set.body);
await daemon.reconciler.whenIdle();

const gc = (globalThis as { gc?: () => void }).gc;
const rss = () => process.memoryUsage().rss / 1024 / 1024;
const mem = () => Object.entries(process.memoryUsage()).map(([k, v]) => `${k} ${(v / 1024 / 1024).toFixed(1)}`).join(", ");
await new Promise((r) => setTimeout(r, 1000));
gc?.();
const before = rss();
const memBefore = mem();
let peak = before;
const c = daemon.observe.collector;
const t0 = performance.now();
for (let i = 0; i < INTERVALS; i++) {
  offsetMs += 10_000;
  for (let s = 0; s < SERVICES; s++) {
    const base = { project: "bench", environment: "production", service: `s${s}` };
    for (let r = 0; r < 100; r++) {
      const status = r % 50 === 0 ? 500 : r % 20 === 0 ? 404 : 200;
      daemon.observe.onRequest({ backend: `svc.bench.production.s${s}`, status, totalMs: r % 10 === 0 ? 200 + r : 3 + (r % 7), instance: `s${s}-i${r % 2}` });
    }
    for (const instance of ["", `s${s}-i0`, `s${s}-i1`]) {
      c.gauge({ ...base, instance, name: "cpu.percent" }, 5 + (i % 10));
      c.gauge({ ...base, instance, name: "memory.bytes" }, 60e6 + i * 1000);
      c.gauge({ ...base, instance, name: "memory.percent" }, 12);
    }
    c.gauge({ ...base, instance: "", name: "instances" }, 2);
  }
  c.flush();
  if (i % 30 === 0) peak = Math.max(peak, rss());
}
const feedMs = performance.now() - t0;
gc?.();
const after = rss();
const memAfter = mem();
peak = Math.max(peak, after);
const nowS = Math.floor(clock.now() / 1000);
let q0 = performance.now();
const s = summarize(daemon.observe.repo, { project: "bench", environment: "production", service: "s0" }, nowS - 3600, nowS);
const summaryMs = performance.now() - q0;
q0 = performance.now();
const api = await daemon.api.inject({ method: "GET", url: "/v1/projects/bench/environments/production/services/s0/metrics?since=1h", headers: { authorization: `Bearer ${token}` } });
const apiMs = performance.now() - q0;
q0 = performance.now();
const prom = renderPrometheus(c.totals());
const promMs = performance.now() - q0;
const dbBytes = statSync(join(dataDir, "berth.db")).size + (() => { try { return statSync(join(dataDir, "berth.db-wal")).size; } catch { return 0; } })();

// Alert latency: cause (event emitted) -> receiver has the body.
const latencies: number[] = [];
for (let i = 0; i < 20; i++) {
  const n = receiverTimes.length;
  const svc = `s${i}`;
  const start = performance.now();
  daemon.bus.emit({ type: "instance:crash-looping", scope: { project: "bench", environment: "production", service: svc }, actor: "system", data: { instance: `${svc}-i0`, failures: 5, windowMs: 600_000 } });
  while (receiverTimes.length === n) await new Promise((r) => setImmediate(r));
  latencies.push(receiverTimes[n]! - start);
}
latencies.sort((a, b) => a - b);

console.log(`services ${SERVICES} x 2 instances, ${INTERVALS} intervals of 10 s (1 h), ${SERVICES * 100 * INTERVALS} requests; fed in ${(feedMs / 1000).toFixed(1)} s`);
console.log(`RSS: before ${before.toFixed(1)} MB, after ${after.toFixed(1)} MB, peak ${peak.toFixed(1)} MB (gc ${gc ? "on" : "off"})`);
console.log(`memory (MB) before: ${memBefore}\nmemory (MB) after:  ${memAfter}`);
console.log(`store: ${(dbBytes / 1024 / 1024).toFixed(1)} MB (berth.db + wal)`);
console.log(`reads: summary of 1 h for one service ${summaryMs.toFixed(1)} ms (${s.requests} requests, p95 ${s.latencyMs.p95} ms); GET .../metrics?since=1h ${apiMs.toFixed(1)} ms (HTTP ${api.statusCode}); /metrics render ${promMs.toFixed(1)} ms (${prom.length} bytes)`);
console.log(`alert latency (event -> webhook receiver), 20 alerts: p50 ${latencies[10]!.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms`);
await daemon.stop();
receiver.close();
