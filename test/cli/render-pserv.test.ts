/**
 * Issue 22, acceptance: a render.yaml with a private service (`type: pserv`) and
 * `fromService ... property: hostport` imports and runs — as a user does it, with the compiled
 * CLI: `berth import render.yaml`, `berth up --detach` (its `development` environment on the local daemon: real local engine,
 * sandbox and HAProxy), then the public storefront answers with what it read from the private
 * inventory service at its internal address.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { berth as run, type CliRun, freePort, scratch, stopScratchDaemon } from "../helpers/cli.ts";

const RENDER_PSERV = `services:
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

const INVENTORY = `require("node:http").createServer((q, s) => s.end(q.url === "/stock" ? "42 widgets" : "inventory")).listen(Number(process.env.PORT));\n`;
const STOREFRONT = `const http = require("node:http");
http.createServer((q, s) => {
  if (q.url === "/health") return s.end("ok");
  // Render's hostport: <host>:<port> of the private service.
  http.get("http://" + process.env.INVENTORY_HOSTPORT + "/stock", (r) => { let b = ""; r.on("data", (d) => (b += d)); r.on("end", () => s.end("storefront: " + b + " via " + process.env.INVENTORY_HOSTPORT)); })
    .on("error", (e) => { s.statusCode = 502; s.end("error: " + e.code); });
}).listen(Number(process.env.PORT));
`;

function get(port: number, host: string, path: string): Promise<{ status: number; body: string }> {
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

describe("render.yaml with a pserv and fromService hostport: berth import, berth up", () => {
  const s = scratch("berth-pserv-");
  const dir = join(s.dir, "shop");
  let port = 0;
  const berth = (args: string[]): Promise<CliRun> => run(args, { scratch: s, cwd: dir, env: { BERTH_HTTP_PORT: String(port) } });
  const ok = (r: CliRun, what: string) => assert.equal(r.status, 0, `${what}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);

  before(async () => {
    port = await freePort();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "render.yaml"), RENDER_PSERV);
    writeFileSync(join(dir, "inventory.js"), INVENTORY);
    writeFileSync(join(dir, "storefront.js"), STOREFRONT);
  });
  after(async () => {
    await berth(["down"]).catch(() => undefined);
    await stopScratchDaemon(s);
  });

  test("imports into a private service with hostport references, deploys, and the web reaches the pserv by its internal name", { timeout: 600_000 }, async () => {
    ok(await berth(["import", "render.yaml", "-o", "berth.yaml", "--project", "pservshop"]), "berth import");
    const yaml = readFileSync(join(dir, "berth.yaml"), "utf8");
    assert.match(yaml, /type: private/);
    assert.match(yaml, /fromService: inventory\.hostport/);
    ok(await berth(["up", "--detach"]), "berth up --detach");
    const r = await get(port, "storefront-development-pservshop.localhost", "/");
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, "storefront: 42 widgets via inventory.development.internal:10000");
    // The private service has no public route.
    assert.equal((await get(port, "inventory-development-pservshop.localhost", "/stock")).status, 404);
  });
});
