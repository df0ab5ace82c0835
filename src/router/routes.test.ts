import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BerthError } from "../core/errors.ts";
import { buildRouteTable, isLocalDomain, type RouteService } from "./routes.ts";

const svc = (service: string, over: Partial<RouteService> = {}): RouteService => ({
  ref: { project: "shop", environment: "prod", service },
  kind: "web",
  domains: [],
  pathPrefixes: [],
  health: { path: "/health", intervalMs: 2_000 },
  ...over,
});

describe("buildRouteTable", () => {
  test("generates <service>-<env>-<project>.<baseDomain> for every public service", () => {
    const t = buildRouteTable([svc("web"), svc("docs", { kind: "static" })], { baseDomain: "apps.example.net" });
    assert.deepEqual(
      t.routes.map((r) => `${r.host}${r.pathPrefix} -> ${r.backend}`),
      ["docs-prod-shop.apps.example.net/ -> svc.shop.prod.docs", "web-prod-shop.apps.example.net/ -> svc.shop.prod.web"],
    );
    assert.deepEqual(t.hosts.map((h) => h.tls.kind), ["acme", "acme"]);
  });

  test("defaults to localhost, where generated hosts stay plain HTTP", () => {
    const t = buildRouteTable([svc("web")]);
    assert.equal(t.routes[0]!.host, "web-prod-shop.localhost");
    assert.deepEqual(t.hosts[0], { host: "web-prod-shop.localhost", tls: { kind: "none" }, redirect: false });
  });

  test("private services never get a public route", () => {
    const t = buildRouteTable([svc("web"), svc("internal-api", { kind: "private", domains: ["x.example.com"] })]);
    assert.deepEqual(t.backends.map((b) => b.name), ["svc.shop.prod.web"]);
    assert.ok(t.routes.every((r) => !r.host.includes("internal-api") && r.host !== "x.example.com"));
  });

  test("custom domains and path prefixes, normalised", () => {
    const t = buildRouteTable([svc("api", { domains: ["Shop.Example.com."], pathPrefixes: ["api/", "/v2"] })]);
    assert.deepEqual(
      t.routes.map((r) => `${r.host}${r.pathPrefix}`),
      ["api-prod-shop.localhost/api", "api-prod-shop.localhost/v2", "shop.example.com/api", "shop.example.com/v2"],
    );
    assert.deepEqual(t.hosts.find((h) => h.host === "shop.example.com"), { host: "shop.example.com", tls: { kind: "acme" }, redirect: true });
    assert.equal(t.backends[0]!.healthHost, "shop.example.com");
  });

  test("local custom domains get the internal CA", () => {
    const t = buildRouteTable([svc("web", { domains: ["shop.internal"] })]);
    assert.equal(t.hosts.find((h) => h.host === "shop.internal")?.tls.kind, "internal");
    assert.ok(isLocalDomain("a.b.localhost") && !isLocalDomain("example.com"));
  });

  test("two services claiming the same host and prefix is a conflict", () => {
    assert.throws(
      () => buildRouteTable([svc("a", { domains: ["x.example.com"] }), svc("b", { domains: ["x.example.com"] })]),
      (e: unknown) => e instanceof BerthError && e.code === "BERTH_ROUTER_ROUTE_CONFLICT" && /x\.example\.com\//.test(e.message),
    );
  });

  test("one host split by path between services is fine", () => {
    const t = buildRouteTable([svc("web", { domains: ["x.example.com"] }), svc("api", { domains: ["x.example.com"], pathPrefixes: ["/api"] })]);
    assert.equal(t.routes.filter((r) => r.host === "x.example.com").length, 2);
  });

  test("invalid domains are rejected with the service named", () => {
    for (const bad of ["https://x.com", "x.com:8080", "-x.com", "a b.com", "x.com/path"]) {
      assert.throws(
        () => buildRouteTable([svc("web", { domains: [bad] })]),
        (e: unknown) => e instanceof BerthError && e.code === "BERTH_ROUTER_DOMAIN_INVALID" && e.message.includes("shop/prod/web"),
      );
    }
  });

  test("is deterministic whatever the input order", () => {
    const a = [svc("web", { domains: ["b.example.com", "a.example.com"] }), svc("api")];
    assert.deepEqual(buildRouteTable(a), buildRouteTable([...a].reverse()));
  });
});
