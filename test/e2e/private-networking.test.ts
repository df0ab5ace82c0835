/**
 * Issue 22, acceptance (the small stack; seed 004's example is in seed-004-next-fastify.test.ts):
 * on the local engine as root (project users, bubblewrap, the nftables loopback policy) behind
 * the real router (HAProxy):
 *
 * - a TCP private service (a line-echo server) is reached by name from another service;
 * - an HTTP private service is reached by its internal address (`fromService api.url`) through
 *   10 redeploys under load with 0 failed requests;
 * - the private API is not routed by the public router, and another project's processes cannot
 *   connect to its internal address (nor to the echo server's), while the owner's can.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { httpHealthGate } from "../../src/deploy/health-gate.ts";
import { LocalEngine } from "../../src/engine/local/local-engine.ts";
import { freePort } from "../../src/router/test-helpers.ts";
import { InternalAddressRepository } from "../../src/store/repositories/internal-addresses.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";

const ROOT = process.getuid?.() === 0;
const P = "p22net";
const OTHER = "p22other";

/** A line-echo server: answers every line with `echo:<line>` (raw TCP, no HTTP). */
const ECHO = `require("node:net").createServer((s) => {
  let buf = "";
  s.setEncoding("utf8");
  s.on("data", (d) => { buf += d; let i; while ((i = buf.indexOf("\\n")) >= 0) { s.write("echo:" + buf.slice(0, i) + "\\n"); buf = buf.slice(i + 1); } });
  s.on("error", () => {});
}).listen(Number(process.env.PORT));
`;

/** The private API: its version, read at start. */
const API = `const v = require("fs").readFileSync(__dirname + "/VERSION", "utf8").trim();
const srv = require("node:http").createServer((q, s) => s.end(q.url === "/health" ? "ok" : "api " + v)).listen(Number(process.env.PORT));
process.on("SIGTERM", () => srv.close(() => process.exit(0)));
`;

/** The public web: reaches the echo server and the API by name; probes addresses it is given. */
const WEB = `const http = require("node:http");
const net = require("node:net");
const dns = require("node:dns");
const line = (hostport, text) => new Promise((resolve) => {
  const [host, port] = hostport.split(":");
  const s = net.connect({ host, port: Number(port) }, () => s.write(text + "\\n"));
  let got = "";
  s.setEncoding("utf8");
  s.on("data", (d) => { got += d; if (got.includes("\\n")) { s.destroy(); resolve(got.trim()); } });
  s.on("error", (e) => resolve("error:" + e.code));
  s.setTimeout(3000, () => { s.destroy(); resolve("error:timeout"); });
});
const agent = new http.Agent({ keepAlive: true });
const get = (url) => new Promise((resolve) => {
  http.get(url, { agent, timeout: 5000 }, (r) => { let b = ""; r.on("data", (d) => (b += d)); r.on("end", () => resolve({ status: r.statusCode, body: b })); })
    .on("error", (e) => resolve({ status: 0, body: "error:" + e.code }));
});
http.createServer(async (q, s) => {
  const u = new URL(q.url, "http://x");
  if (u.pathname === "/health") return s.end("ok");
  if (u.pathname === "/echo") return s.end(await line(u.searchParams.get("to") || process.env.ECHO_HOSTPORT, u.searchParams.get("text") || "hi"));
  if (u.pathname === "/api") { const r = await get(process.env.API_URL); s.statusCode = r.status === 200 ? 200 : 502; return s.end(r.body); }
  if (u.pathname === "/resolve") return dns.lookup(u.searchParams.get("name"), { family: 4 }, (e, a) => s.end(e ? "error:" + e.code : a));
  if (u.pathname === "/env") return s.end(JSON.stringify({ ECHO_HOSTPORT: process.env.ECHO_HOSTPORT, API_URL: process.env.API_URL, API_HOST: process.env.API_HOST }));
  s.end("web");
}).listen(Number(process.env.PORT));
`;

const blueprint = `version: 1
project: ${P}
services:
  echo:
    type: private
    protocol: tcp
    port: 7000
    start: node echo.js
  api:
    type: private
    start: node api.js
    replicas: 2
    health: { path: /health, interval: 200ms }
    shutdownDelay: 5s
  web:
    type: web
    start: node web.js
    health: /health
    env:
      ECHO_HOSTPORT: { fromService: echo.hostport }
      API_URL: { fromService: api.url }
      API_HOST: \${api.host}
`;

const otherBlueprint = `version: 1
project: ${OTHER}
services:
  web:
    type: web
    start: node web.js
    health: /health
`;

function viaRouter(port: number, host: string, path = "/"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers: { host }, timeout: 10_000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** A TCP connect from this (root, not a project's) process: the listener is there. */
function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

describe("private networking: internal addresses on the local engine", { skip: !ROOT && "needs root (project users, bubblewrap, nftables)" }, () => {
  let t: TestDaemon;
  let routerPort: number;
  let dir: string;
  const web = (path: string) => viaRouter(routerPort, `web-production-${P}.localhost`, path);
  const addressOf = (service: string) => new InternalAddressRepository(t.daemon.store.db).get(P, "production", service)!;

  before(async () => {
    routerPort = await freePort();
    const stateDir = tempDir("berth-i22-engine-");
    t = await startTestDaemon({
      routerHttpPort: routerPort,
      health: httpHealthGate,
      engine: ({ bus, openEnv, redact, loopback }) => new LocalEngine({ stateDir, events: bus, openEnv, redact, ...(loopback ? { loopback } : {}) }),
    });
    dir = writeProject(join(tempDir(), P), blueprint, { "echo.js": ECHO, "api.js": API, "web.js": WEB, VERSION: "v0" });
    const other = writeProject(join(tempDir(), OTHER), otherBlueprint, { "web.js": WEB });
    for (const [bp, d] of [[blueprint, dir], [otherBlueprint, other]] as const) {
      const r = await t.request("POST", "/v1/sync", { environment: "production", blueprint: bp, sourceDir: d });
      assert.equal(r.status, 202, JSON.stringify(r.json));
    }
    await t.daemon.reconciler.whenIdle();
    for (const p of [P, OTHER]) {
      const s = (await t.request("GET", `/v1/projects/${p}/environments/production`)).json;
      assert.equal(s.status, "live", JSON.stringify(s));
    }
  });
  after(() => t?.close());

  test("fromService host, port, hostport and url give the internal names; they resolve inside the sandbox", async () => {
    const env = JSON.parse((await web("/env")).body);
    assert.equal(env.ECHO_HOSTPORT, "echo.production.internal:7000");
    assert.equal(env.API_URL, "http://api.production.internal:10000");
    assert.equal(env.API_HOST, "api.production.internal");
    assert.equal((await web("/resolve?name=api.production.internal")).body, addressOf("api"));
    assert.equal((await web("/resolve?name=api")).body, addressOf("api"));
    assert.equal((await web("/resolve?name=echo")).body, addressOf("echo"));
  });

  test("a TCP private service (line echo) is reached by name from another service", async () => {
    assert.equal((await web("/echo?text=hello")).body, "echo:hello");
    assert.equal((await web("/echo?to=echo:7000&text=short-name")).body, "echo:short-name");
  });

  test("the private API is not routed publicly, and another project cannot connect to its internal address", async () => {
    const routed = await viaRouter(routerPort, `api-production-${P}.localhost`, "/");
    assert.equal(routed.status, 404, routed.body);
    const status = (await t.request("GET", `/v1/projects/${P}/environments/production`)).json as { services: { name: string; urls: string[] }[] };
    assert.deepEqual(status.services.find((s) => s.name === "api")?.urls ?? [], []);
    const api = addressOf("api");
    const echo = addressOf("echo");
    // The listeners are up (root is not a project) ...
    assert.ok(await canConnect(api, 10000));
    assert.ok(await canConnect(echo, 7000));
    // ... the owner's processes get through, the other project's are refused.
    assert.equal((await web(`/echo?to=${echo}:7000&text=own`)).body, "echo:own");
    const otherHost = `web-production-${OTHER}.localhost`;
    assert.match((await viaRouter(routerPort, otherHost, `/echo?to=${echo}:7000&text=x`)).body, /^error:(ECONNREFUSED|ECONNRESET)/);
    assert.match((await viaRouter(routerPort, otherHost, `/echo?to=${api}:10000&text=x`)).body, /^error:(ECONNREFUSED|ECONNRESET)/);
    // Its names do not exist in the other project's sandbox.
    assert.match((await viaRouter(routerPort, otherHost, "/resolve?name=api.production.internal")).body, /^error:/);
  });

  test("10 redeploys of the private API under load: the web reaches it by name with 0 failed requests", async () => {
    let ok = 0;
    const failures: string[] = [];
    let stop = false;
    const versions = new Set<string>();
    const clients = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const r = await web("/api").catch((e: Error) => ({ status: 0, body: e.message }));
        if (r.status === 200) {
          ok++;
          versions.add(r.body);
        } else failures.push(`${r.status} ${r.body}`);
      }
    });
    const t0 = Date.now();
    for (let v = 1; v <= 10; v++) {
      writeFileSync(join(dir, "VERSION"), `v${v}`);
      const r = await t.request("POST", "/v1/sync", { environment: "production", blueprint, sourceDir: dir });
      assert.equal(r.status, 202);
      await t.daemon.reconciler.whenIdle();
    }
    const ms = Date.now() - t0;
    stop = true;
    await Promise.all(clients);
    const final = await web("/api");
    assert.equal(final.body, "api v10");
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} failed of ${ok + failures.length}`);
    assert.ok(ok > 100, `only ${ok} requests`);
    assert.ok(versions.size >= 5, [...versions].join(","));
    const deploys = (await t.request("GET", `/v1/projects/${P}/environments/production/deploys?service=api`)).json as { status: string }[];
    assert.ok(deploys.filter((d) => d.status === "live").length >= 11);
    const line = `private API: 10 redeploys under load (8 clients through web -> api.production.internal): ${ok} requests, ${failures.length} failed, ${ms} ms`;
    console.log(line);
    if (process.env.BERTH_BENCH_OUT) writeFileSync(process.env.BERTH_BENCH_OUT, `${line}\n`, { flag: "a" });
    // The address survived every redeploy.
    assert.equal((await web("/resolve?name=api")).body, addressOf("api"));
    assert.ok(readFileSync(join(t.dataDir, "router", "haproxy.cfg"), "utf8").includes(`bind ${addressOf("api")}:10000`));
  });
});
