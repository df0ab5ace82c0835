import assert from "node:assert/strict";
import { describe, test } from "node:test";
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

  test("two services claiming the same host and prefix: the first keeps it, the second is refused", () => {
    const t = buildRouteTable([svc("a", { domains: ["x.example.com"] }), svc("b", { domains: ["x.example.com"] })]);
    assert.deepEqual(t.routes.filter((r) => r.host === "x.example.com").map((r) => r.backend), ["svc.shop.prod.a"]);
    assert.equal(t.refused?.length, 1);
    assert.equal(t.refused![0]!.code, "BERTH_ROUTER_ROUTE_CONFLICT");
    assert.match(t.refused![0]!.message, /x\.example\.com\/ is claimed by both shop\/prod\/a and shop\/prod\/b/);
    // b keeps its generated host.
    assert.ok(t.routes.some((r) => r.backend === "svc.shop.prod.b" && r.generated));
  });

  test("a custom domain never takes another project's generated host, whoever came first", () => {
    const thief = { ...svc("web", { domains: ["web-production-victim.localhost"] }), ref: { project: "thief", environment: "production", service: "web" } };
    const victim = { ...svc("web"), ref: { project: "victim", environment: "production", service: "web" } };
    const t = buildRouteTable([thief, victim]);
    assert.equal(t.routes.find((r) => r.host === "web-production-victim.localhost")?.backend, "svc.victim.production.web");
    assert.equal(t.refused?.[0]?.code, "BERTH_ROUTER_DOMAIN_RESERVED");
  });

  test("a path prefix with a newline or space is refused, never written", () => {
    const t = buildRouteTable([svc("web", { pathPrefixes: ["/x\nweb-production-b.localhost/ svc.b.production.a\n#", "/ok"] })]);
    assert.deepEqual(t.routes.map((r) => r.pathPrefix), ["/ok"]);
    assert.equal(t.refused?.[0]?.code, "BERTH_ROUTER_PATH_INVALID");
  });

  test("one host split by path between services is fine", () => {
    const t = buildRouteTable([svc("web", { domains: ["x.example.com"] }), svc("api", { domains: ["x.example.com"], pathPrefixes: ["/api"] })]);
    assert.equal(t.routes.filter((r) => r.host === "x.example.com").length, 2);
  });

  test("invalid domains are refused with the service named; its generated host stays", () => {
    for (const bad of ["https://x.com", "x.com:8080", "-x.com", "a b.com", "x.com/path", "x.com\n#"]) {
      const t = buildRouteTable([svc("web", { domains: [bad] })]);
      assert.equal(t.refused?.[0]?.code, "BERTH_ROUTER_DOMAIN_INVALID");
      assert.ok(t.refused![0]!.message.includes("shop/prod/web"));
      assert.deepEqual(t.routes.map((r) => r.host), ["web-prod-shop.localhost"]);
    }
  });

  test("is deterministic whatever the input order", () => {
    const a = [svc("web", { domains: ["b.example.com", "a.example.com"] }), svc("api")];
    assert.deepEqual(buildRouteTable(a), buildRouteTable([...a].reverse()));
  });
});
