import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ManualClock } from "../../core/clock.ts";
import type { BerthEvent, EventInput, EventSink, EventType } from "../../core/events.ts";
import type { ServiceRef } from "../../engine/engine.ts";
import { AlertManager } from "../../observe/alerts/manager.ts";
import { resolveRules } from "../../observe/alerts/rules.ts";
import { openDb } from "../../store/db.ts";
import { AlertRepository } from "../../store/repositories/alerts.ts";
import { Router } from "../router.ts";
import { buildRouteTable, type HostTls } from "../routes.ts";
import { freePort, peer } from "../test-helpers.ts";
import { expiringAtMs, planExpiring, type Validity } from "./cert-manager.ts";
import { Certificates } from "./certificates.ts";
import { haproxyPem } from "./internal-ca.ts";

const DAY = 86_400_000;
const host = (name: string, kind: HostTls["tls"]["kind"]): HostTls => ({ host: name, tls: { kind }, redirect: kind !== "none" });
const validity = (fromMs: number, days: number): Validity => ({ notBefore: new Date(fromMs), notAfter: new Date(fromMs + days * DAY) });

test("planExpiring: stored certificates of TLS hosts still routed with under 1/6 of their lifetime left", () => {
  const t0 = Date.UTC(2026, 0, 1);
  const stored = new Map<string, Validity>([
    ["shop.example.com", validity(t0, 90)],
    ["gone.example.com", validity(t0, 90)], // no longer in the table
    ["plain.example.com", validity(t0, 90)], // tls none
    ["short.example.com", { notBefore: new Date(t0), notAfter: new Date(t0 + 3_600_000) }], // pebble's one hour
  ]);
  const hosts = [host("shop.example.com", "acme"), host("plain.example.com", "none"), host("short.example.com", "acme"), host("new.example.com", "acme")];
  assert.equal(expiringAtMs(validity(t0, 90)), t0 + 75 * DAY, "15 days before the end of a 90-day certificate");
  assert.deepEqual(planExpiring(hosts, stored, t0 + 74 * DAY), [{ domain: "short.example.com", notAfter: new Date(t0 + 3_600_000), remainingMs: 3_600_000 - 74 * DAY }]);
  assert.deepEqual(planExpiring(hosts, stored, t0 + 50 * 60_000).map((c) => [c.domain, c.remainingMs]), [["short.example.com", 10 * 60_000]]);
  assert.deepEqual(planExpiring(hosts, stored, t0 + 49 * 60_000), [], "an hour-long certificate expires in its last 10 minutes");
  assert.deepEqual(
    planExpiring(hosts, stored, t0 + 80 * DAY).map((c) => [c.domain, c.remainingMs / DAY]),
    [
      ["shop.example.com", 10],
      ["short.example.com", 1 / 24 - 80],
    ],
  );
});

describe("Certificates: the daemon's runs against a real router", { timeout: 60_000 }, () => {
  const ref: ServiceRef = { project: "shop", environment: "prod", service: "web" };
  const clock = new ManualClock(Date.now());
  const events: EventInput[] = [];
  const sink: EventSink = { emit: <T extends EventType>(e: EventInput<T>) => void events.push(e as unknown as EventInput) };
  const of = (type: EventType) => events.filter((e) => e.type === type).map((e) => e.data as { domain: string; detail?: string });
  let dir: string;
  let router: Router;
  let httpsPort: number;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-certs-"));
    httpsPort = await freePort();
    router = new Router({ stateDir: join(dir, "router"), bindHost: "127.0.0.1", httpPort: await freePort(), httpsPort, events: sink, healthTimeoutMs: 10_000 });
    await router.start();
  });

  after(async () => {
    await router?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("ACME off: the ACME host is reported once, the internal one is served its certificate; runs never overlap and requests during one coalesce into one more", async () => {
    const certificates = new Certificates({ router, clock, events: sink });
    await certificates.start();
    await certificates.whenIdle();
    assert.equal(certificates.runs, 1, "the start runs once (an empty table)");
    await router.setRoutes(buildRouteTable([{ ref, kind: "web", domains: ["shop.example.com", "shop.internal"], pathPrefixes: [], health: { path: "/health", intervalMs: 200 } }]));
    certificates.request();
    certificates.request();
    certificates.request();
    await certificates.whenIdle();
    assert.equal(certificates.runs, 3, "one run, then exactly one more for the requests made during it");
    assert.deepEqual(of("router:cert-issued").map((d) => d.domain), ["shop.internal"]);
    const skipped = events.filter((e) => e.type === "router:cert-skipped").map((e) => e.data as { domain: string; reason: string });
    assert.deepEqual(skipped.map((d) => d.domain), ["shop.example.com"]);
    assert.match(skipped[0]!.reason, /ACME is off \(BERTH_ACME_DIRECTORY=off\)/);
    assert.deepEqual(of("router:cert-failed"), [], "a choice, not a failure");
    assert.match(JSON.stringify((await peer(httpsPort, "shop.internal")).cert.issuer), /Berth Internal CA/);
    certificates.request(); // the same table again: nothing to do, nothing reported twice
    await certificates.whenIdle();
    assert.equal(events.filter((e) => e.type.startsWith("router:cert-")).length, 2);
    await certificates.stop();
    certificates.request();
    assert.equal(certificates.runs, 4, "a stopped subsystem runs no more");
  });

  test("a certificate past 5/6 of its lifetime is reported as expiring and fires the certificate-expiring alert of the environment serving it", async () => {
    // Only the custom domain: an internal certificate renewed now would be as old as the real clock.
    await router.setRoutes(buildRouteTable([{ ref, kind: "web", domains: ["shop.example.com"], pathPrefixes: [], health: { path: "/health", intervalMs: 200 } }]));
    const c = await router.ca.issue("shop.example.com", 90);
    await router.installCertificate("shop.example.com", haproxyPem(c));
    clock.set(c.notAfter.getTime() - 10 * DAY);
    events.length = 0;
    const alerts = new AlertManager({
      repo: new AlertRepository(openDb(":memory:")),
      events: { emit: () => {} },
      clock,
      environments: () => [{ project: "shop", environment: "prod", services: ["web"], rules: resolveRules(undefined), channels: {} }],
      metric: () => undefined,
      scopeOf: (e) => ((e.data as { domain?: string }).domain?.startsWith("shop.") ? { project: "shop", environment: "prod" } : undefined),
    });
    const certificates = new Certificates({ router, clock, events: sink });
    await certificates.start(); // a new daemon: its first run is the periodic one
    await certificates.whenIdle();
    await certificates.stop();
    const expiring = events.filter((e) => e.type === "router:cert-expiring").map((e) => e.data);
    assert.deepEqual(expiring, [{ domain: "shop.example.com", notAfter: c.notAfter.toISOString(), remainingMs: 10 * DAY }]);
    assert.deepEqual(
      events.filter((e) => e.type === "router:cert-skipped").map((e) => (e.data as { domain: string }).domain),
      ["shop.example.com"],
      "its renewal is due, and ACME is off",
    );
    for (const [i, e] of events.entries()) alerts.onEvent({ seq: i + 1, at: new Date(clock.now()).toISOString(), scope: {}, actor: "system", ...e } as BerthEvent);
    assert.deepEqual(
      alerts
        .list({ state: "firing" })
        .map((a) => [a.rule, a.severity, a.service])
        .sort(),
      [["certificate-expiring", "warning", "shop.example.com"]],
    );
  });
});
