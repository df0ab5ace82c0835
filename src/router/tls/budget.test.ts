import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decideBudget, registeredDomain } from "./budget.ts";
import { planCertificates, renewAtMs } from "./cert-manager.ts";

const DAY = 86_400_000;

describe("issuance budget", () => {
  test("groups names by registered domain", () => {
    assert.equal(registeredDomain("a.b.example.com"), "example.com");
    assert.equal(registeredDomain("shop.example.co.uk"), "example.co.uk");
  });

  test("warns near the limit and refuses past it, counting only the window", () => {
    const policy = { limit: 5, windowMs: 7 * DAY, warnFraction: 0.8 };
    const now = 100 * DAY;
    const history = [
      { domain: "a.example.com", atMs: now - 8 * DAY },
      { domain: "b.example.com", atMs: now - DAY },
      { domain: "c.example.com", atMs: now - DAY },
      { domain: "other.org", atMs: now - DAY },
    ];
    assert.deepEqual(decideBudget(history, "d.example.com", now, policy), { registeredDomain: "example.com", allowed: true, warn: false, count: 2 });
    const more = [...history, { domain: "d.example.com", atMs: now }];
    assert.equal(decideBudget(more, "e.example.com", now, policy).warn, true);
    const full = [...more, { domain: "e.example.com", atMs: now }, { domain: "f.example.com", atMs: now }];
    assert.equal(decideBudget(full, "g.example.com", now, policy).allowed, false);
  });
});

describe("certificate plan", () => {
  const hosts = [
    { host: "a.example.com", tls: { kind: "acme" as const }, redirect: true },
    { host: "b.internal", tls: { kind: "internal" as const }, redirect: true },
    { host: "web-prod-x.localhost", tls: { kind: "none" as const }, redirect: false },
  ];
  const v = { notBefore: new Date(0), notAfter: new Date(90 * DAY) };

  test("renews at two thirds of the lifetime", () => {
    assert.equal(renewAtMs(v), 60 * DAY);
  });

  test("issues what is missing, renews what is due, leaves plain hosts alone", () => {
    assert.deepEqual(planCertificates(hosts, new Map(), 0), [
      { domain: "a.example.com", issuer: "acme", reason: "missing" },
      { domain: "b.internal", issuer: "internal", reason: "missing" },
    ]);
    const stored = new Map([["a.example.com", v], ["b.internal", v]]);
    assert.deepEqual(planCertificates(hosts, stored, 59 * DAY), []);
    assert.deepEqual(planCertificates(hosts, stored, 60 * DAY).map((t) => t.reason), ["renew", "renew"]);
  });
});
