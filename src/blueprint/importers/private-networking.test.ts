/**
 * Issue 22: importers map Render private services (`pserv`, `fromService ... hostport`) and
 * Railway private networking onto Berth's internal addresses.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBlueprint } from "../index.ts";
import { importText } from "./index.ts";
import { importRailway, privateNetworking } from "./railway.ts";

export const RENDER_PSERV = `services:
  - type: pserv
    name: inventory
    runtime: node
    startCommand: node inventory.js
  - type: web
    name: storefront
    runtime: node
    startCommand: node storefront.js
    healthCheckPath: /health
    envVars:
      - key: INVENTORY_HOSTPORT
        fromService: { type: pserv, name: inventory, property: hostport }
      - key: INVENTORY_HOST
        fromService: { type: pserv, name: inventory, property: host }
      - key: INVENTORY_PORT
        fromService: { type: pserv, name: inventory, property: port }
`;

test("render.yaml: a pserv becomes a private service and fromService hostport/host/port reference its internal address", () => {
  const r = importText("render", RENDER_PSERV, { file: "render.yaml", project: "shop" });
  assert.ok(r.validation.ok, `${r.yaml}\n${JSON.stringify(!r.validation.ok && r.validation.errors)}`);
  const bp = r.validation.blueprint;
  assert.equal(bp.services.find((s) => s.name === "inventory")?.type, "private");
  const env = bp.services.find((s) => s.name === "storefront")!.env;
  assert.deepEqual(env.INVENTORY_HOSTPORT, { kind: "fromService", name: "inventory", property: "hostport" });
  assert.deepEqual(env.INVENTORY_HOST, { kind: "fromService", name: "inventory", property: "host" });
  assert.deepEqual(env.INVENTORY_PORT, { kind: "fromService", name: "inventory", property: "port" });
});

test("railway: ${{svc.RAILWAY_PRIVATE_DOMAIN}}, ${{svc.PORT}} and svc.railway.internal map to internal-address interpolation", () => {
  assert.deepEqual(privateNetworking("http://${{api.RAILWAY_PRIVATE_DOMAIN}}:${{api.PORT}}"), { value: "http://${api.host}:${api.port}", services: ["api"] });
  assert.deepEqual(privateNetworking("cache.railway.internal:6379"), { value: "${cache.host}:6379", services: ["cache"] });
  assert.equal(privateNetworking("${{shared.SOME_TOKEN}}"), undefined);
  // One Railway file is one service: a reference to another becomes a secret, with the exact replacement.
  const r = importRailway(`[deploy]
startCommand = "node web.js"
[variables]
API_URL = "http://\${{api.RAILWAY_PRIVATE_DOMAIN}}:\${{api.PORT}}"
SELF = "\${{web.RAILWAY_PRIVATE_DOMAIN}}"
`, { file: "railway.toml", project: "shop", service: "web" });
  assert.ok(r.validation.ok, r.yaml);
  assert.match(r.yaml, /write API_URL: "http:\/\/\$\{api\.host\}:\$\{api\.port\}"/);
  assert.deepEqual(r.validation.blueprint.services[0]!.env.SELF, { kind: "interpolated", template: "${web.host}", parts: [{ kind: "ref", target: "service", name: "web", property: "host" }] });
  // With the referenced service added as suggested, the blueprint is valid.
  const yaml = `${r.yaml}\n`.replace(/^services:\n/m, "services:\n  api: { type: private, start: node api.js }\n");
  const parsed = parseBlueprint(yaml.replace(/API_URL:[^\n]*(\n\s+secret: true)?/, 'API_URL: "http://${api.host}:${api.port}"'), { file: "berth.yaml" });
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.errors));
});

test("a TCP private service may not have an HTTP health path", () => {
  const bad = parseBlueprint("version: 1\nproject: p\nservices:\n  echo: { type: private, protocol: tcp, start: node e.js, health: /health }\n", { file: "berth.yaml" });
  assert.ok(!bad.ok);
  assert.match(JSON.stringify(bad.errors), /TCP service/);
  const good = parseBlueprint("version: 1\nproject: p\nservices:\n  echo: { type: private, protocol: tcp, port: 7000, start: node e.js }\n", { file: "berth.yaml" });
  assert.ok(good.ok, JSON.stringify(!good.ok && good.errors));
  assert.equal(good.ok && good.blueprint.services[0]!.type === "private" ? good.blueprint.services[0]!.protocol : undefined, "tcp");
});
