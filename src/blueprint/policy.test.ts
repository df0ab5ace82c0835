import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBlueprint } from "./index.ts";

const bp = (port: number, domain = "shop.example.com") => `version: 1
project: shop
services:
  web:
    type: web
    start: node s.js
    port: ${port}
    domains: [${domain}]
`;
const policy = { baseDomain: "localhost", reservedPorts: new Map([[22, "ssh"], [7700, "the Berth API's port"], [80, "the router's HTTP port"]]) };

test("issue 17: privileged and reserved ports are refused where they are written, unless allowed", () => {
  for (const [port, why] of [[22, /ssh/], [80, /router/], [443, /privileged/], [7700, /Berth API/]] as const) {
    const r = parseBlueprint(bp(port), { file: "berth.yaml", policy });
    assert.ok(!r.ok);
    const e = r.errors.find((x) => x.code === "BERTH_BLUEPRINT_PORT_RESERVED")!;
    assert.match(e.message, why);
    assert.deepEqual([e.line, e.path], [7, ["services", "web", "port"]]);
  }
  assert.ok(parseBlueprint(bp(3000), { file: "berth.yaml", policy }).ok);
  assert.ok(parseBlueprint(bp(443), { file: "berth.yaml", policy: { ...policy, allowedPorts: [443] } }).ok);
  // Without a policy (`berth validate` on a laptop) the shape alone is checked.
  assert.ok(parseBlueprint(bp(22), { file: "berth.yaml" }).ok);
});

test("issue 17: custom domains inside the base domain are refused (generated hosts live there)", () => {
  const r = parseBlueprint(bp(3000, "web-production-other.localhost"), { file: "berth.yaml", policy });
  assert.ok(!r.ok);
  assert.equal(r.errors[0]!.code, "BERTH_BLUEPRINT_DOMAIN_RESERVED");
  assert.deepEqual(r.errors[0]!.path, ["services", "web", "domains", 0]);
});

test("issue 17: environment overrides are held to the same policy", () => {
  const text = `${bp(3000)}environments:\n  production:\n    services:\n      web: { port: 22 }\n`;
  const r = parseBlueprint(text, { file: "berth.yaml", policy });
  assert.ok(!r.ok);
  assert.match(r.errors[0]!.message, /environment 'production': .*port 22 is reserved/);
});
