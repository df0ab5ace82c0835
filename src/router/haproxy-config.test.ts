import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, test } from "node:test";
import { defaultTimeouts, type HaproxySettings, LOG_FORMAT, renderHaproxyConfig, renderMapFiles } from "./haproxy-config.ts";
import { haproxyArgv, haproxyCheckArgv } from "./haproxy-process.ts";
import { parseRequestLog } from "./request-metrics.ts";
import { buildRouteTable } from "./routes.ts";

const table = buildRouteTable(
  [
    { ref: { project: "shop", environment: "prod", service: "web" }, kind: "web", domains: ["shop.example.com"], pathPrefixes: [], health: { path: "/health", intervalMs: 2_000 } },
    { ref: { project: "shop", environment: "prod", service: "api" }, kind: "web", domains: ["shop.example.com"], pathPrefixes: ["/api"], health: { path: "/healthz", intervalMs: 1_000 } },
    { ref: { project: "shop", environment: "prod", service: "db-admin" }, kind: "private", domains: [], pathPrefixes: [], health: { path: "/", intervalMs: 1_000 } },
  ],
  { baseDomain: "localhost" },
);

const settings = (mapDir: string, over: Partial<HaproxySettings> = {}): HaproxySettings => ({
  bindHost: "0.0.0.0",
  httpPort: 80,
  httpsPort: 443,
  mapDir,
  crtListPath: `${mapDir}/crt-list.txt`,
  adminSocketPath: `${mapDir}/admin.sock`,
  acmeResponder: { host: "127.0.0.1", port: 8402 },
  hstsMaxAgeSeconds: 31_536_000,
  logSampleEvery: 1,
  slotsPerBackend: () => 2,
  servers: new Map([["svc.shop.prod.web", new Map([[1, { endpoint: { host: "127.0.0.1", port: 3001 }, state: "ready" as const }]])]]),
  timeouts: defaultTimeouts,
  ...over,
});

describe("renderHaproxyConfig", () => {
  test("matches the snapshot", (t) => {
    t.assert.snapshot(renderHaproxyConfig(table, settings("/var/lib/berth/router/gen/1")));
  });

  test("map files route longest prefixes first and list redirecting hosts", (t) => {
    t.assert.snapshot(renderMapFiles(table));
  });

  test("is accepted by `haproxy -c`", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-cfg-"));
    try {
      for (const [name, content] of Object.entries(renderMapFiles(table))) await writeFile(join(dir, name), content);
      // HAProxy refuses an HTTPS bind without a certificate; validate the HTTP-only shape here.
      for (const logSampleEvery of [1, 10]) {
        await writeFile(join(dir, "haproxy.cfg"), renderHaproxyConfig(table, settings(dir, { httpsPort: undefined, logSampleEvery })));
        await promisify(execFile)("haproxy", haproxyCheckArgv(join(dir, "haproxy.cfg")));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("refuses values that could break out of the configuration", () => {
    const evil = { ...table, backends: [{ ...table.backends[0]!, healthPath: "/x\n  server evil 1.2.3.4:80" }] };
    assert.throws(() => renderHaproxyConfig(evil, settings("/m")));
  });

  test("private services have no backend and no map entry", () => {
    const cfg = renderHaproxyConfig(table, settings("/m"));
    assert.ok(!cfg.includes("db-admin"));
    assert.ok(!Object.values(renderMapFiles(table)).join("").includes("db-admin"));
  });

  test("the request log format is what the metrics parser reads", () => {
    assert.equal(LOG_FORMAT, "berth %b %ST %Ta %Tr %B %s");
    assert.deepEqual(parseRequestLog("<134>Nov 22 04:00:00 haproxy[1]: berth svc.a.b.c 502 12 -1 230"), {
      backend: "svc.a.b.c", status: 502, totalMs: 12, serverMs: -1, bytes: 230,
    });
    assert.deepEqual(parseRequestLog("berth svc.a.b.c 200 3 2 10 s2"), { backend: "svc.a.b.c", status: 200, totalMs: 3, serverMs: 2, bytes: 10, server: "s2" });
    assert.deepEqual(parseRequestLog("berth svc.a.b.c 503 3 -1 10 <NOSRV>"), { backend: "svc.a.b.c", status: 503, totalMs: 3, serverMs: -1, bytes: 10 });
  });

  test("argv of the master and of validation", () => {
    assert.deepEqual(haproxyArgv({ configPath: "/s/haproxy.cfg", masterSocketPath: "/s/master.sock" }), ["-W", "-db", "-S", "/s/master.sock,mode,600", "-f", "/s/haproxy.cfg"]);
    assert.deepEqual(haproxyCheckArgv("/s/c.cfg"), ["-c", "-q", "-f", "/s/c.cfg"]);
  });
});
