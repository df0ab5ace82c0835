import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ManualClock } from "../../core/clock.ts";
import type { EventInput, EventSink, EventType } from "../../core/events.ts";
import type { ServiceRef } from "../../engine/engine.ts";
import { Router } from "../router.ts";
import { buildRouteTable } from "../routes.ts";
import { freePort, get, peer, startBackend, type TestBackend } from "../test-helpers.ts";
import { type Pebble, startPebble } from "../testing/pebble.ts";
import { AcmeIssuer } from "./acme.ts";
import { IssuanceLedger } from "./budget.ts";
import { CertManager, renewAtMs } from "./cert-manager.ts";

const ref: ServiceRef = { project: "shop", environment: "prod", service: "web" };

function httpsGet(port: number, host: string, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: "127.0.0.1", port, path, servername: host, headers: { host }, rejectUnauthorized: false, agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("TLS: ACME HTTP-01 against pebble, internal CA, redirects", { timeout: 60_000 }, () => {
  let dir: string;
  let router: Router;
  let httpPort: number;
  let httpsPort: number;
  let backend: TestBackend;
  let manager: CertManager;
  const clock = new ManualClock(Date.now());
  let pebble: Pebble | undefined;
  const events: EventInput[] = [];
  const sink: EventSink = { emit: <T extends EventType>(e: EventInput<T>) => void events.push(e as unknown as EventInput) };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-tls-"));
    [httpPort, httpsPort] = [await freePort(), await freePort()];
    pebble = await startPebble({ dir, httpPort });
    router = new Router({ stateDir: join(dir, "router"), bindHost: "127.0.0.1", httpPort, httpsPort, events: sink, healthTimeoutMs: 10_000 });
    await router.start();
    backend = await startBackend("app");
    await router.setRoutes(
      buildRouteTable([{ ref, kind: "web", domains: ["app.example.com", "app.internal"], pathPrefixes: [], health: { path: "/health", intervalMs: 200 } }]),
    );
    await router.trafficPort.add(ref, "i1", { host: "127.0.0.1", port: backend.port });
    manager = new CertManager({
      clock,
      ca: router.ca,
      acme: new AcmeIssuer({ directoryUrl: pebble.directoryUrl, accountKeyPath: join(dir, "router", "acme", "account.key"), challenges: router.challenges, trustedCaPem: pebble.caPem }),
      ledger: new IssuanceLedger(join(dir, "issuance.jsonl")),
      stored: (d) => router.certs.validity(d),
      install: (d, pem) => router.installCertificate(d, pem),
      events: sink,
    });
  });

  after(async () => {
    await router?.stop();
    await backend?.close();
    await pebble?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("obtains a certificate over HTTP-01 and serves it without a reload, with h2 by ALPN", async () => {
    const gen = router.generation;
    const result = await manager.ensure(router.table.hosts);
    assert.deepEqual(result.failed.map((f) => f.error.message), []);
    assert.deepEqual(result.issued.map((t) => `${t.domain}:${t.issuer}:${t.reason}`).sort(), ["app.example.com:acme:missing", "app.internal:internal:missing"]);
    const acme = await peer(httpsPort, "app.example.com");
    assert.match(acme.cert.subjectaltname ?? "", /DNS:app\.example\.com/);
    assert.match(JSON.stringify(acme.cert.issuer), /[Pp]ebble/);
    assert.equal(acme.alpn, "h2");
    const internal = await peer(httpsPort, "app.internal");
    assert.match(JSON.stringify(internal.cert.issuer), /Berth Internal CA/);
    assert.equal(router.generation, gen, "certificates were loaded through the runtime API");
    const res = await httpsGet(httpsPort, "app.example.com", "/hello");
    assert.equal(res.body, "app /hello");
    assert.equal(res.headers["strict-transport-security"], "max-age=31536000");
  });

  test("HTTP redirects to HTTPS for TLS hosts; generated localhost hosts stay on HTTP", async () => {
    const r = await get(httpPort, "app.example.com", "/a?b=1");
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, "https://app.example.com/a?b=1");
    assert.equal((await get(httpPort, "web-prod-shop.localhost", "/a")).body, "app /a");
    assert.equal((await get(httpPort, "app.example.com", "/.well-known/acme-challenge/nope")).status, 404, "challenges are not redirected");
  });

  test("renews a short-lived certificate at 2/3 of its lifetime and serves the new one", async () => {
    const before = await peer(httpsPort, "app.example.com");
    const validity = (await router.certs.validity("app.example.com"))!;
    assert.ok(validity.notAfter.getTime() - validity.notBefore.getTime() <= 3_700_000, "pebble issued a one-hour certificate");
    clock.set(renewAtMs(validity) - 1_000);
    assert.deepEqual((await manager.ensure(router.table.hosts)).issued, []);
    clock.set(renewAtMs(validity) + 1_000);
    const result = await manager.ensure(router.table.hosts);
    assert.deepEqual(result.issued.map((t) => `${t.domain}:${t.reason}`), ["app.example.com:renew"]);
    const after = await peer(httpsPort, "app.example.com");
    assert.notEqual(after.cert.serialNumber, before.cert.serialNumber);
    assert.ok(events.some((e) => e.type === "router:cert-issued"));
  });
});
