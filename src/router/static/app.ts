/**
 * The static site server as a Fastify instance: files from `root` through @fastify/static
 * (precompressed `.br`/`.gz` siblings when present), on-the-fly compression through
 * @fastify/compress otherwise, Render-style redirects and rewrites, custom headers, SPA fallback,
 * long caching for fingerprinted assets and none for HTML.
 */
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import fastifyCompress from "@fastify/compress";
import fastifyStatic from "@fastify/static";
import Fastify, { type FastifyInstance } from "fastify";
import { compilePattern, fillDestination, matchPattern, type StaticSiteConfig } from "./site-config.ts";

/** `app-3f9a1c2e.js`, `index.BwD3k2x1.css`: a hash of 8+ characters with at least one digit. */
const FINGERPRINT = /[.-](?=[A-Za-z0-9_]*\d)[A-Za-z0-9_]{8,}\.[A-Za-z0-9]+$/;

export const CACHE_IMMUTABLE = "public, max-age=31536000, immutable";
export const CACHE_NONE = "no-cache";
export const CACHE_REVALIDATE = "public, max-age=0, must-revalidate";

/** Pure: the Cache-Control of a served file. */
export function cacheControlFor(filePath: string): string {
  const name = basename(filePath).replace(/\.(br|gz)$/, "");
  if (name.endsWith(".html")) return CACHE_NONE;
  if (FINGERPRINT.test(name)) return CACHE_IMMUTABLE;
  return CACHE_REVALIDATE;
}

function pathOf(url: string): string {
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}

/** Builds (does not listen) the server for one site. */
export async function buildStaticApp(root: string, config: StaticSiteConfig): Promise<FastifyInstance> {
  const rewrites = config.routes.filter((r) => r.type === "rewrite").map((r) => ({ ...r, p: compilePattern(r.source) }));
  const redirects = config.routes.filter((r) => r.type === "redirect").map((r) => ({ ...r, p: compilePattern(r.source) }));
  const headers = config.headers.map((h) => ({ ...h, p: compilePattern(h.path) }));

  const app = Fastify({
    logger: false,
    // Rewrites happen before routing, so a rewritten path is served like any other file.
    rewriteUrl: (req) => {
      const url = req.url ?? "/";
      const path = pathOf(url);
      for (const r of rewrites) {
        const params = matchPattern(r.p, path);
        if (params) return fillDestination(r.destination, params) + url.slice(path.length);
      }
      return url;
    },
  });

  app.addHook("onRequest", async (req, reply) => {
    const path = pathOf(req.originalUrl);
    for (const r of redirects) {
      const params = matchPattern(r.p, path);
      if (params) return reply.redirect(fillDestination(r.destination, params), r.status);
    }
  });

  app.addHook("onSend", async (req, reply, payload) => {
    const path = pathOf(req.originalUrl);
    for (const h of headers) if (matchPattern(h.p, path)) reply.header(h.name, h.value);
    return payload;
  });

  await app.register(fastifyCompress, { global: true, threshold: 1024, encodings: ["br", "gzip"] });
  await app.register(fastifyStatic, {
    root,
    preCompressed: true,
    cacheControl: false,
    etag: true,
    lastModified: true,
    redirect: false,
    setHeaders: (reply, filePath) => {
      reply.header("cache-control", cacheControlFor(filePath));
    },
  });

  const notFound = join(root, "404.html");
  app.setNotFoundHandler(async (req, reply) => {
    const path = pathOf(req.url);
    const looksLikePage = !/\.[A-Za-z0-9]+$/.test(path) && (req.method === "GET" || req.method === "HEAD");
    if (config.spa && looksLikePage && existsSync(join(root, "index.html"))) {
      return reply.header("cache-control", CACHE_NONE).sendFile("index.html");
    }
    if (existsSync(notFound)) return reply.code(404).header("cache-control", CACHE_NONE).sendFile("404.html");
    return reply.code(404).type("text/plain").send("not found\n");
  });
  return app;
}
