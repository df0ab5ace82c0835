import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { after, before, describe, test } from "node:test";
import { BerthError } from "../core/errors.ts";
import type { ServiceRef } from "../engine/engine.ts";
import { Router } from "./router.ts";
import { buildRouteTable, type RouteService } from "./routes.ts";
import { eventually, freePort, get, startBackend, type TestBackend } from "./test-helpers.ts";

const web: ServiceRef = { project: "shop", environment: "prod", service: "web" };
const api: ServiceRef = { project: "shop", environment: "prod", service: "api" };
const svc = (ref: ServiceRef, over: Partial<RouteService> = {}): RouteService => ({
  ref,
  kind: "web",
  domains: [],
  pathPrefixes: [],
  health: { path: "/health", intervalMs: 200 },
  ...over,
});

const services = [svc(web, { domains: ["shop.example.com"] }), svc(api, { domains: ["shop.example.com"], pathPrefixes: ["/api"] })];

describe("Router against a real HAProxy", { timeout: 60_000 }, () => {
  let dir: string;
  let router: Router;
  let port: number;
  const backends: TestBackend[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-router-"));
    port = await freePort();
    router = new Router({ stateDir: dir, bindHost: "127.0.0.1", httpPort: port, healthTimeoutMs: 10_000 });
    await router.start();
    for (const name of ["web1", "web2", "api1"]) backends.push(await startBackend(name));
    await router.setRoutes(buildRouteTable(services));
  });

  after(async () => {
    await router?.stop();
    for (const b of backends) await b.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("routes by host and by path prefix", async () => {
    await router.trafficPort.add(web, "web-1", { host: "127.0.0.1", port: backends[0]!.port });
    await router.trafficPort.add(api, "api-1", { host: "127.0.0.1", port: backends[2]!.port });
    assert.equal((await get(port, "shop.example.com", "/")).body, "web1 /");
    assert.equal((await get(port, "SHOP.example.com:80", "/api/orders")).body, "api1 /api/orders");
    assert.equal((await get(port, "shop.example.com", "/api")).body, "api1 /api");
    assert.equal((await get(port, "shop.example.com", "/apix")).body, "web1 /apix", "a prefix matches whole segments only");
    assert.equal((await get(port, "web-prod-shop.localhost", "/x")).body, "web1 /x", "generated host");
    assert.equal((await get(port, "api-prod-shop.localhost", "/")).status, 404, "api answers only under /api");
    assert.equal((await get(port, "nobody.example.com", "/")).status, 404);
  });

  test("balances across replicas", async () => {
    await router.trafficPort.add(web, "web-2", { host: "127.0.0.1", port: backends[1]!.port });
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) seen.add((await get(port, "shop.example.com", "/")).body);
    assert.deepEqual([...seen].sort(), ["web1 /", "web2 /"]);
  });

  test("an instance failing its health check leaves rotation and returns when healthy", async () => {
    backends[1]!.healthy = false;
    await eventually(async () => (await router.api.serverStat("svc.shop.prod.web", "s2"))?.status === "DOWN");
    for (let i = 0; i < 6; i++) assert.equal((await get(port, "shop.example.com", "/")).body, "web1 /");
    backends[1]!.healthy = true;
    await eventually(async () => (await router.api.serverStat("svc.shop.prod.web", "s2"))?.status === "UP");
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await get(port, "shop.example.com", "/")).body);
    assert.ok(seen.has("web2 /"));
  });

  test("remove drains an instance out of rotation without a reload", async () => {
    const gen = router.generation;
    await router.trafficPort.remove(web, "web-2", { drainMs: 2_000 });
    for (let i = 0; i < 6; i++) assert.equal((await get(port, "shop.example.com", "/")).body, "web1 /");
    assert.equal(router.generation, gen);
  });

  test("setRoutes reloads only when routes change and keeps instances in place", async () => {
    const same = buildRouteTable([svc(web, { domains: ["shop.example.com"] }), svc(api, { domains: ["shop.example.com"], pathPrefixes: ["/api"] })]);
    assert.equal((await router.setRoutes(same)).reloaded, false);
    const more = buildRouteTable([svc(web, { domains: ["shop.example.com", "www.example.com"] }), svc(api, { domains: ["shop.example.com"], pathPrefixes: ["/api"] })]);
    assert.equal((await router.setRoutes(more)).reloaded, true);
    assert.equal((await get(port, "www.example.com", "/")).body, "web1 /");
    assert.equal((await get(port, "shop.example.com", "/api/x")).body, "api1 /api/x");
  });

  test("WebSocket upgrades pass through", async () => {
    const ws = createServer();
    ws.on("upgrade", (_req, socket: Duplex) => {
      // The RFC 6455 example key/accept pair: HAProxy checks the handshake is a real one.
      socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
      socket.on("data", (d: Buffer) => socket.write(d));
    });
    ws.on("request", (_req, res) => res.end("ok"));
    await new Promise<void>((r) => ws.listen(0, "127.0.0.1", r));
    const wsRef: ServiceRef = { project: "shop", environment: "prod", service: "ws" };
    let socket: Duplex | undefined;
    try {
      await router.setRoutes(buildRouteTable([...services, svc(wsRef)]));
      await router.trafficPort.add(wsRef, "ws-1", { host: "127.0.0.1", port: (ws.address() as { port: number }).port });
      const headers = { host: "ws-prod-shop.localhost", connection: "Upgrade", upgrade: "websocket", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" };
      const req = httpRequest({ host: "127.0.0.1", port, path: "/socket", headers });
      req.end();
      const [res, sock] = (await once(req, "upgrade", { signal: AbortSignal.timeout(5_000) })) as [IncomingMessage, Duplex];
      socket = sock;
      assert.equal(res.statusCode, 101);
      sock.write("ping");
      const [echo] = (await once(sock, "data", { signal: AbortSignal.timeout(5_000) })) as [Buffer];
      assert.equal(echo.toString(), "ping");
    } finally {
      socket?.destroy();
      await router.trafficPort.remove(wsRef, "ws-1", { drainMs: 100 });
      await router.setRoutes(buildRouteTable(services));
      ws.closeAllConnections();
      ws.close();
    }
  });

  test("a table that renders an invalid configuration is rejected and the last good one keeps serving", async () => {
    const good = router.table;
    const gen = router.generation;
    const bad = { ...good, backends: good.backends.map((b) => ({ ...b, healthIntervalMs: Number.NaN })) };
    await assert.rejects(router.setRoutes(bad), (e: unknown) => e instanceof BerthError && e.code === "BERTH_ROUTER_CONFIG_INVALID");
    assert.equal(router.generation, gen);
    assert.equal(router.table, good);
    assert.equal((await get(port, "shop.example.com", "/")).body, "web1 /");
  });

  test("adding more instances than slots grows the backend", async () => {
    const extra: TestBackend[] = [];
    for (let i = 0; i < 5; i++) extra.push(await startBackend(`extra${i}`));
    backends.push(...extra);
    for (const [i, b] of extra.entries()) await router.trafficPort.add(web, `x-${i}`, { host: "127.0.0.1", port: b.port });
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add((await get(port, "shop.example.com", "/")).body);
    assert.equal(seen.size, 6);
    for (let i = 0; i < 5; i++) await router.trafficPort.remove(web, `x-${i}`, { drainMs: 1_000 });
  });

  test("an unknown service is refused with a catalogued error", async () => {
    await assert.rejects(
      router.trafficPort.add({ project: "x", environment: "y", service: "z" }, "i", { host: "127.0.0.1", port: 1 }),
      (e: unknown) => e instanceof BerthError && e.code === "BERTH_ROUTER_UNKNOWN_SERVICE",
    );
  });

  test("a killed HAProxy is restarted by the supervisor with its instances back in rotation", async () => {
    const { master, worker } = router.haproxyPids;
    process.kill(worker, "SIGKILL");
    process.kill(master!, "SIGKILL");
    await eventually(async () => router.haproxyPids.worker !== worker && (await get(port, "shop.example.com", "/").catch(() => undefined))?.body === "web1 /", 20_000);
    assert.equal((await get(port, "shop.example.com", "/api/x")).body, "api1 /api/x");
  });

  test("request logs become per-service status counts and latency percentiles", async () => {
    await eventually(() => (router.requestMetrics(web)?.requests ?? 0) > 10);
    const m = router.requestMetrics(web)!;
    assert.ok((m.statusClasses["2xx"] ?? 0) > 10);
    assert.ok(m.latencyMs.p50 >= 0 && m.latencyMs.p99 >= m.latencyMs.p50);
  });
});
