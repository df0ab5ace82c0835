import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, gunzipSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { eventually, freePort, get } from "../test-helpers.ts";
import { buildStaticApp, CACHE_IMMUTABLE, CACHE_NONE, CACHE_REVALIDATE, cacheControlFor } from "./app.ts";
import { staticSiteConfigSchema } from "./site-config.ts";

const big = "console.log('berth');\n".repeat(400);

describe("static site server", { timeout: 60_000 }, () => {
  let root: string;
  let app: FastifyInstance;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "berth-static-"));
    await mkdir(join(root, "assets"));
    await writeFile(join(root, "index.html"), "<h1>home</h1>");
    await writeFile(join(root, "app.html"), "<h1>app shell</h1>");
    await writeFile(join(root, "robots.txt"), "User-agent: *\n");
    await writeFile(join(root, "assets", "index-BwD3k2x1.js"), big);
    await writeFile(join(root, "assets", "index-BwD3k2x1.js.br"), brotliCompressSync(big));
    await writeFile(join(root, "big.txt"), big);
    const config = staticSiteConfigSchema.parse({
      spa: true,
      headers: [
        { path: "/*", name: "X-Frame-Options", value: "DENY" },
        { path: "/assets/*", name: "Access-Control-Allow-Origin", value: "*" },
      ],
      routes: [
        { type: "redirect", source: "/old/*", destination: "/new/*" },
        { type: "redirect", source: "/blog/:slug", destination: "https://blog.example.com/:slug", status: 302 },
        { type: "rewrite", source: "/app/*", destination: "/app.html" },
      ],
    });
    app = await buildStaticApp(root, config);
  });

  after(async () => {
    await app?.close();
    await rm(root, { recursive: true, force: true });
  });

  test("SPA fallback serves index.html for page paths, not for missing files", async () => {
    const page = await app.inject({ url: "/settings/profile", headers: { accept: "text/html" } });
    assert.equal(page.statusCode, 200);
    assert.equal(page.body, "<h1>home</h1>");
    assert.equal(page.headers["cache-control"], CACHE_NONE);
    assert.equal((await app.inject({ url: "/missing.js" })).statusCode, 404);
  });

  test("custom headers by path pattern", async () => {
    const home = await app.inject({ url: "/" });
    assert.equal(home.headers["x-frame-options"], "DENY");
    assert.equal(home.headers["access-control-allow-origin"], undefined);
    const asset = await app.inject({ url: "/assets/index-BwD3k2x1.js" });
    assert.equal(asset.headers["access-control-allow-origin"], "*");
  });

  test("redirects (with wildcards and params) and rewrites", async () => {
    const r1 = await app.inject({ url: "/old/a/b?x=1" });
    assert.equal(r1.statusCode, 301);
    assert.equal(r1.headers.location, "/new/a/b");
    const r2 = await app.inject({ url: "/blog/hello" });
    assert.equal(r2.statusCode, 302);
    assert.equal(r2.headers.location, "https://blog.example.com/hello");
    const rw = await app.inject({ url: "/app/deep/link" });
    assert.equal(rw.statusCode, 200);
    assert.equal(rw.body, "<h1>app shell</h1>");
  });

  test("long cache for fingerprinted assets, none for HTML, revalidation otherwise", async () => {
    assert.equal((await app.inject({ url: "/assets/index-BwD3k2x1.js" })).headers["cache-control"], CACHE_IMMUTABLE);
    assert.equal((await app.inject({ url: "/" })).headers["cache-control"], CACHE_NONE);
    assert.equal((await app.inject({ url: "/index.html" })).headers["cache-control"], CACHE_NONE);
    assert.equal((await app.inject({ url: "/robots.txt" })).headers["cache-control"], CACHE_REVALIDATE);
    assert.equal(cacheControlFor("/x/jquery-slim.min.js"), CACHE_REVALIDATE);
    assert.equal(cacheControlFor("/x/main.3f9a1c2e.css.gz"), CACHE_IMMUTABLE);
  });

  test("serves a precompressed .br sibling when the client accepts it", async () => {
    const res = await app.inject({ url: "/assets/index-BwD3k2x1.js", headers: { "accept-encoding": "br, gzip" } });
    assert.equal(res.headers["content-encoding"], "br");
    assert.deepEqual(res.rawPayload, brotliCompressSync(big));
    assert.match(String(res.headers["content-type"]), /javascript/);
  });

  test("compresses on the fly when no precompressed file exists", async () => {
    const res = await app.inject({ url: "/big.txt", headers: { "accept-encoding": "gzip" } });
    assert.equal(res.headers["content-encoding"], "gzip");
    assert.equal(gunzipSync(res.rawPayload).toString(), big);
  });

  test("serve.ts runs as a service process on $PORT and stops on SIGTERM", async () => {
    const port = await freePort();
    const script = join(dirname(fileURLToPath(import.meta.url)), "serve.ts");
    const child = spawn(process.execPath, [script, "--root", root, "--config", JSON.stringify({ spa: true })], {
      env: { ...process.env, PORT: String(port), HOST: "127.0.0.1" },
      stdio: "ignore",
    });
    try {
      await eventually(async () => (await get(port, "x", "/").catch(() => undefined))?.status === 200);
      assert.equal((await get(port, "x", "/some/page")).body, "<h1>home</h1>");
    } finally {
      child.kill("SIGTERM");
      const [code] = await once(child, "exit");
      assert.equal(code, 0);
    }
  });
});
