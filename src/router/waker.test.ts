/**
 * Issue 19: the waker. A backend whose service may sleep gets the waker's Unix socket as its
 * backup server (and HAProxy accepts that configuration); the waker holds a request until
 * `wake` names a healthy instance, proxies it there without the wake header, and answers 503
 * with Retry-After when the service does not come up in time.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { defaultTimeouts, renderHaproxyConfig, renderMapFiles, WAKE_HEADER } from "./haproxy-config.ts";
import { haproxyCheckArgv } from "./haproxy-process.ts";
import { buildRouteTable } from "./routes.ts";
import { Waker } from "./waker.ts";

const table = buildRouteTable(
  [
    { ref: { project: "shop", environment: "pr-7", service: "web" }, kind: "web", domains: [], pathPrefixes: [], health: { path: "/health", intervalMs: 2_000 }, wake: true },
    { ref: { project: "shop", environment: "prod", service: "web" }, kind: "web", domains: [], pathPrefixes: [], health: { path: "/health", intervalMs: 2_000 } },
  ],
  { baseDomain: "localhost" },
);

const settings = (dir: string, wakerSocket?: string) => ({
  bindHost: "127.0.0.1",
  httpPort: 8080,
  mapDir: dir,
  crtListPath: join(dir, "crt-list.txt"),
  adminSocketPath: join(dir, "admin.sock"),
  hstsMaxAgeSeconds: 0,
  logSampleEvery: 1,
  slotsPerBackend: () => 2,
  servers: new Map(),
  timeouts: defaultTimeouts,
  ...(wakerSocket ? { wakerSocket } : {}),
});

/** One request over a Unix socket, as HAProxy sends it to the waker. */
function viaSocket(socketPath: string, headers: Record<string, string>, body = ""): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method: body ? "POST" : "GET", path: "/hello?x=1", headers }, (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("the waker", () => {
  test("only backends that may sleep get the waker as a backup server; `haproxy -c` accepts it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-wake-"));
    try {
      const cfg = renderHaproxyConfig(table, settings(dir, join(dir, "waker.sock")));
      const sleepy = cfg.slice(cfg.indexOf("backend svc.shop.pr-7.web"), cfg.indexOf("backend svc.shop.prod.web"));
      assert.match(sleepy, new RegExp(`http-request set-header ${WAKE_HEADER} svc\\.shop\\.pr-7\\.web`));
      assert.match(sleepy, /server waker unix@\S+waker\.sock backup no-check/);
      assert.equal(cfg.split("server waker").length - 1, 1, "the always-on service has no waker");
      assert.ok(!renderHaproxyConfig(table, settings(dir)).includes("server waker"), "no waker socket, no backup server");
      for (const [name, content] of Object.entries(renderMapFiles(table))) await writeFile(join(dir, name), content);
      await writeFile(join(dir, "haproxy.cfg"), cfg);
      await promisify(execFile)("haproxy", haproxyCheckArgv(join(dir, "haproxy.cfg")));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("holds a request until the service is healthy, then proxies it (method, path, body) without the wake header", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-wake-"));
    const app = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => res.writeHead(200, { "x-app": "yes" }).end(JSON.stringify({ method: req.method, url: req.url, body, wake: req.headers[WAKE_HEADER.toLowerCase()] ?? null })));
    });
    app.listen(0, "127.0.0.1");
    await once(app, "listening");
    const port = (app.address() as { port: number }).port;
    const woken: string[] = [];
    let up = false;
    setTimeout(() => (up = true), 300);
    const waker = new Waker({
      socketPath: join(dir, "waker.sock"),
      wake: async (backend, signal) => {
        woken.push(backend);
        while (!up && !signal.aborted) await new Promise((r) => setTimeout(r, 20));
        return up ? { host: "127.0.0.1", port } : undefined;
      },
    });
    await waker.start();
    try {
      const t0 = Date.now();
      const r = await viaSocket(waker.socketPath, { [WAKE_HEADER]: "svc.shop.pr-7.web", "content-type": "text/plain" }, "payload");
      assert.ok(Date.now() - t0 >= 250, "held until the service was up");
      assert.equal(r.status, 200);
      assert.equal(r.headers["x-app"], "yes");
      assert.equal(r.headers["x-berth-woken"], "1");
      assert.deepEqual(JSON.parse(r.body), { method: "POST", url: "/hello?x=1", body: "payload", wake: null });
      assert.deepEqual(woken, ["svc.shop.pr-7.web"]);
    } finally {
      await waker.stop();
      app.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("answers 503 with Retry-After when the service does not come up in time, 502 without a backend", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-wake-"));
    const waker = new Waker({ socketPath: join(dir, "waker.sock"), holdMs: 200, wake: (_b, signal) => new Promise((resolve) => signal.addEventListener("abort", () => resolve(undefined))) });
    await waker.start();
    try {
      const r = await viaSocket(waker.socketPath, { [WAKE_HEADER]: "svc.shop.pr-7.web" });
      assert.equal(r.status, 503);
      assert.equal(r.headers["retry-after"], "5");
      assert.equal((await viaSocket(waker.socketPath, {})).status, 502);
    } finally {
      await waker.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
