/**
 * Issue 18, acceptance: a known mix of 200s, 500s and slow responses through the real router
 * (HAProxy) comes back from the metrics store as the same request counts, error rate and p95
 * (within the histogram's bucket resolution), per service and per instance, and in /metrics.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { systemClock } from "../../src/core/clock.ts";
import type { ServiceRef } from "../../src/engine/engine.ts";
import { MetricsCollector } from "../../src/observe/metrics/collector.ts";
import { renderPrometheus } from "../../src/observe/metrics/prometheus.ts";
import { summarize } from "../../src/observe/metrics/query.ts";
import { requestRecorder } from "../../src/observe/metrics/requests.ts";
import { Router } from "../../src/router/router.ts";
import { buildRouteTable } from "../../src/router/routes.ts";
import { eventually, freePort, get } from "../../src/router/test-helpers.ts";
import { openDb } from "../../src/store/db.ts";
import { MetricsRepository } from "../../src/store/repositories/metrics.ts";

const web: ServiceRef = { project: "shop", environment: "prod", service: "web" };
const SLOW_MS = 300;

let dir: string;
let router: Router;
let port: number;
let backend: Server;
let seen = 0;
const repo = new MetricsRepository(openDb(":memory:"));
const collector = new MetricsCollector({ repo, clock: systemClock });
const record = requestRecorder(collector);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-metrics-"));
  port = await freePort();
  backend = createServer((req, res) => {
    if (req.url === "/health") return res.end("ok");
    if (req.url === "/err") {
      res.writeHead(500);
      return res.end("boom");
    }
    if (req.url === "/slow") return void setTimeout(() => res.end("slow"), SLOW_MS);
    res.end("ok");
  });
  await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
  router = new Router({
    stateDir: dir,
    bindHost: "127.0.0.1",
    httpPort: port,
    healthTimeoutMs: 10_000,
    onRequest: (s) => {
      seen++;
      record(s);
    },
  });
  await router.start();
  await router.setRoutes(buildRouteTable([{ ref: web, kind: "web", domains: ["shop.example.com"], pathPrefixes: [], health: { path: "/health", intervalMs: 200 } }]));
  await router.trafficPort.add(web, "web-1", { host: "127.0.0.1", port: (backend.address() as { port: number }).port });
});

after(async () => {
  await router?.stop();
  backend?.closeAllConnections();
  backend?.close();
  await rm(dir, { recursive: true, force: true });
});

test("counts, error rate and p95 read back match the mix that was sent", { timeout: 60_000 }, async () => {
  const mix = [...Array(200).fill("/ok"), ...Array(50).fill("/err"), ...Array(30).fill("/slow")] as string[];
  // Ten at a time, in a shuffled but fixed order.
  const order = mix.map((p, i) => [p, (i * 7919) % mix.length] as const).sort((a, b) => a[1] - b[1]).map(([p]) => p);
  const statuses: number[] = [];
  for (let i = 0; i < order.length; i += 10) {
    const batch = await Promise.all(order.slice(i, i + 10).map((p) => get(port, "shop.example.com", p)));
    statuses.push(...batch.map((r) => r.status));
  }
  assert.equal(statuses.filter((s) => s === 500).length, 50, "the backend answered the mix");
  await eventually(() => seen >= mix.length, 10_000);
  collector.flush(); // what the API does before it reads
  const nowS = Math.floor(Date.now() / 1000);
  const s = summarize(repo, web, nowS - 600, nowS + 10);
  assert.equal(s.requests, 280);
  assert.equal(s.statusClasses["2xx"], 230);
  assert.equal(s.statusClasses["5xx"], 50);
  assert.equal(Math.round(s.errorRate * 10_000) / 10_000, Math.round((50 / 280) * 10_000) / 10_000);
  // 250 fast requests and 30 slow ones: the 95th percentile (rank 266) is a slow one.
  assert.ok(s.latencyMs.p95 >= SLOW_MS && s.latencyMs.p95 <= SLOW_MS * 1.1 + 50, `p95 ${s.latencyMs.p95}`);
  assert.ok(s.latencyMs.p50 < 50, `p50 ${s.latencyMs.p50}`);
  assert.ok(s.latencyMs.max >= SLOW_MS);

  const perInstance = summarize(repo, { ...web, instance: "web-1" }, nowS - 600, nowS + 10);
  assert.equal(perInstance.requests, 280, "the slot resolves to the instance");

  const prom = renderPrometheus(collector.totals());
  assert.match(prom, /berth_http_requests_total\{project="shop",environment="prod",service="web",code="5xx"\} 50\n/);
  assert.match(prom, /berth_http_request_duration_seconds_count\{project="shop",environment="prod",service="web"\} 280\n/);
  assert.equal(renderPrometheus(collector.totals(), (p) => p !== "shop"), "", "other projects' tokens see nothing");
});
