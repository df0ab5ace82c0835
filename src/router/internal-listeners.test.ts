/**
 * Private networking (issue 22) in the router, against a real HAProxy: a private HTTP service's
 * internal listener balances over the same server slots as public backends (instances swapped
 * through the runtime API with no reload and no failed request), a TCP service's listener passes
 * bytes through, and private services never get a public route.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { Agent } from "node:http";
import { createServer, connect, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { execFileSync } from "node:child_process";
import type { ServiceRef } from "../engine/engine.ts";
import { Router } from "./router.ts";
import { buildRouteTable, type RouteService } from "./routes.ts";
import { freePort, get, startBackend, type TestBackend } from "./test-helpers.ts";

const api: ServiceRef = { project: "p22", environment: "prod", service: "api" };
const echo: ServiceRef = { project: "p22", environment: "prod", service: "echo" };
const web: ServiceRef = { project: "p22", environment: "prod", service: "web" };
// A /24 of its own, far from what stores allocate, so parallel tests never share an address.
const base = `127.${64 + (process.pid % 60)}.${process.pid % 250}`;
const API_ADDR = `${base}.11`;
const ECHO_ADDR = `${base}.12`;

const services = (internalPort: number, echoPort: number): RouteService[] => [
  { ref: web, kind: "web", domains: [], pathPrefixes: [], health: { path: "/health", intervalMs: 100 } },
  { ref: api, kind: "private", domains: [], pathPrefixes: [], health: { path: "/health", intervalMs: 100 }, internal: { address: API_ADDR, port: internalPort, protocol: "http", host: "api.prod.internal" } },
  { ref: echo, kind: "private", domains: [], pathPrefixes: [], health: { intervalMs: 100 }, internal: { address: ECHO_ADDR, port: echoPort, protocol: "tcp", host: "echo.prod.internal" } },
];

/** A line-echo server tagging replies with its name. */
async function startEcho(name: string): Promise<{ port: number; server: Server }> {
  const server = createServer((s) => {
    s.setEncoding("utf8");
    let buf = "";
    s.on("data", (d) => {
      buf += d;
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        s.write(`${name}:${buf.slice(0, i)}\n`);
        buf = buf.slice(i + 1);
      }
    });
    s.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as { port: number }).port, server };
}

function sendLine(host: string, port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port }, () => s.write(`${line}\n`));
    let got = "";
    s.setEncoding("utf8");
    s.on("data", (d) => {
      got += d;
      if (got.includes("\n")) {
        s.destroy();
        resolve(got.trim());
      }
    });
    s.on("error", reject);
  });
}

describe("internal listeners (real HAProxy)", () => {
  let dir: string;
  let router: Router;
  let publicPort: number;
  let internalPort: number;
  let echoPort: number;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-int-"));
    [publicPort, internalPort, echoPort] = [await freePort(), await freePort(), await freePort()];
    router = new Router({ stateDir: dir, bindHost: "127.0.0.1", httpPort: publicPort, healthTimeoutMs: 10_000 });
    await router.start();
    await router.setRoutes(buildRouteTable(services(internalPort, echoPort)));
  });
  after(async () => {
    await router?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("the rendered configuration binds each internal listener to its own address only, and haproxy -c accepts it", async () => {
    const cfg = await readFile(join(dir, "haproxy.cfg"), "utf8");
    assert.match(cfg, new RegExp(`bind ${API_ADDR.replaceAll(".", "\\.")}:${internalPort}\\n`));
    assert.match(cfg, new RegExp(`frontend int\\.svc\\.p22\\.prod\\.echo\\n  bind ${ECHO_ADDR.replaceAll(".", "\\.")}:${echoPort}\\n  default_backend`));
    // TCP proxies come after defaults of their own (mode tcp, no HTTP log format).
    assert.ok(cfg.lastIndexOf("defaults\n  mode tcp") < cfg.indexOf("frontend int.svc.p22.prod.echo"));
    assert.ok(!/frontend int\.svc\.p22\.prod\.web[\s\S]*bind 0\.0\.0\.0/.test(cfg));
    // The private API has no public route: its host is not in any map.
    for (const m of ["routes-exact.map", "routes-prefix.map"]) {
      const gen = join(dir, "gen", String(router.generation), m);
      assert.ok(!(await readFile(gen, "utf8")).includes("api-prod-p22"));
    }
    const candidate = join(dir, "check.cfg");
    await writeFile(candidate, cfg);
    execFileSync("haproxy", ["-c", "-q", "-f", candidate]);
  });

  test("a private HTTP service: 10 instance swaps under keep-alive load through its internal address, 0 failed, no reload", { timeout: 60_000 }, async () => {
    let current: TestBackend = await startBackend("v0");
    await router.trafficPort.add(api, "v0", { host: "127.0.0.1", port: current.port });
    const generation = router.generation;
    const agent = new Agent({ keepAlive: true, maxSockets: 20 });
    let stop = false;
    let ok = 0;
    const failures: string[] = [];
    const worker = async (): Promise<void> => {
      while (!stop) {
        try {
          const r = await get(internalPort, "api.prod.internal", "/", agent, API_ADDR);
          if (r.status === 200) ok++;
          else failures.push(`HTTP ${r.status}`);
        } catch (e) {
          failures.push(String(e));
        }
      }
    };
    const workers = Array.from({ length: 20 }, worker);
    for (let i = 1; i <= 10; i++) {
      const next = await startBackend(`v${i}`);
      await router.trafficPort.add(api, `v${i}`, { host: "127.0.0.1", port: next.port });
      await router.trafficPort.remove(api, `v${i - 1}`, { drainMs: 300 });
      await current.close();
      current = next;
    }
    stop = true;
    await Promise.all(workers);
    agent.destroy();
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} failures of ${ok + failures.length}`);
    assert.ok(ok > 200, `${ok} requests`);
    assert.equal(router.generation, generation, "no reload");
    const r = await get(internalPort, "api.prod.internal", "/", undefined, API_ADDR);
    assert.equal(r.body, "v10 /");
    // Not through the public listener, whatever the Host header.
    const pub = await get(publicPort, "api-prod-p22.localhost", "/");
    assert.equal(pub.status, 404);
    await current.close();
  });

  test("a TCP service: bytes pass through its internal listener; a swapped instance takes new connections", { timeout: 30_000 }, async () => {
    const a = await startEcho("a");
    await router.trafficPort.add(echo, "a", { host: "127.0.0.1", port: a.port });
    assert.equal(await sendLine(ECHO_ADDR, echoPort, "hello"), "a:hello");
    const b = await startEcho("b");
    await router.trafficPort.add(echo, "b", { host: "127.0.0.1", port: b.port });
    await router.trafficPort.remove(echo, "a", { drainMs: 100 });
    a.server.close();
    for (let i = 0; i < 5; i++) assert.equal(await sendLine(ECHO_ADDR, echoPort, `n${i}`), `b:n${i}`);
    b.server.close();
    // Nothing listens on the echo's address except HAProxy's listener on its port.
    await assert.rejects(sendLine(ECHO_ADDR, publicPort, "x"));
  });
});
