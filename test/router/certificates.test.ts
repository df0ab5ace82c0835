/**
 * The running daemon obtains certificates (docs/design/certificates-in-daemon.md): a real daemon
 * (local engine, HAProxy router with HTTP and HTTPS on loopback) whose ACME directory is a pebble
 * started here. pebble validates HTTP-01 on the daemon's router HTTP port, so the challenge goes
 * through HAProxy to Berth's responder, as Let's Encrypt's would through port 80. A blueprint with
 * a custom domain is synced; the HTTPS listener then serves that domain (SNI) a certificate pebble
 * issued, and `router:cert-issued` is recorded.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { httpHealthGate } from "../../src/deploy/health-gate.ts";
import { LocalEngine } from "../../src/engine/local/local-engine.ts";
import { eventually, freePort, peer } from "../../src/router/test-helpers.ts";
import { type Pebble, startPebble } from "../../src/router/testing/pebble.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";

const SERVER = `require("node:http").createServer((req, res) => res.end("shop " + req.url)).listen(Number(process.env.PORT), "127.0.0.1");
`;
const BLUEPRINT = `version: 1
project: certs
services:
  web:
    type: web
    start: node server.js
    domains: [shop.example.com]
    health: { path: /, interval: 200ms }
`;

/** GET over HTTPS through the router, with SNI and Host set to `host` (pebble's roots are not trusted here). */
function httpsGet(port: number, host: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, servername: host, headers: { host }, rejectUnauthorized: false, agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the daemon issues certificates for custom domains through ACME (pebble)", { timeout: 120_000 }, () => {
  let dir: string;
  let pebble: Pebble | undefined;
  let t: TestDaemon | undefined;
  let httpsPort: number;

  before(async () => {
    dir = tempDir("berth-acme-");
    const httpPort = await freePort();
    httpsPort = await freePort();
    pebble = await startPebble({ dir, httpPort });
    const stateDir = join(dir, "engine");
    t = await startTestDaemon({
      engine: ({ bus, openEnv }) => new LocalEngine({ stateDir, events: bus, openEnv, sandbox: false }),
      health: httpHealthGate,
      loopback: false,
      sandboxBuilds: false,
      routerHttpPort: httpPort,
      routerHttpsPort: httpsPort,
      configEnv: { BERTH_BIND: "127.0.0.1", BERTH_ACME_DIRECTORY: pebble.directoryUrl, BERTH_ACME_CA_FILE: pebble.caFile, BERTH_ACME_EMAIL: "ops@shop.example.com" },
    });
  });

  after(async () => {
    await t?.close();
    await pebble?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a synced custom domain is served a certificate pebble issued over HTTP-01, and router:cert-issued is recorded", async () => {
    const project = writeProject(join(dir, "certs"), BLUEPRINT, { "server.js": SERVER });
    const synced = await t!.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: project });
    assert.equal(synced.status, 202, JSON.stringify(synced.json));
    await t!.daemon.reconciler.whenIdle();
    // Issuance follows the route table in the background (the deploy does not wait for it).
    await eventually(async () => /[Pp]ebble/.test(JSON.stringify((await peer(httpsPort, "shop.example.com")).cert.issuer)), 60_000, 200);
    const { cert } = await peer(httpsPort, "shop.example.com");
    assert.match(cert.subjectaltname ?? "", /DNS:shop\.example\.com/);
    assert.match(JSON.stringify((await peer(httpsPort, "berth.localhost")).cert.issuer), /Berth Internal CA/, "other names still get the default certificate");
    const events = t!.daemon.store.events.list({ afterSeq: 0, limit: 10_000 });
    const issued = events.filter((e) => e.type === "router:cert-issued").map((e) => e.data as { domain: string; issuer: string; notAfter: string });
    assert.deepEqual(
      issued.map((d) => [d.domain, d.issuer]),
      [["shop.example.com", "acme"]],
    );
    assert.equal(Date.parse(issued[0]!.notAfter), Date.parse(cert.valid_to));
    assert.deepEqual(events.filter((e) => e.type === "router:cert-failed" || e.type === "router:cert-expiring"), []);
    const res = await httpsGet(httpsPort, "shop.example.com", "/hello");
    assert.deepEqual([res.status, res.body], [200, "shop /hello"]);
  });
});
