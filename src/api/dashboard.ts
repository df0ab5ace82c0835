/**
 * Serves the dashboard's built files (issue 21) under `/dashboard/`. The files hold no data, so
 * the routes are public; everything the app shows comes from the API under the user's session.
 * Headers forbid framing (clickjacking) and any script or connection beyond the daemon itself.
 */
import { existsSync } from "node:fs";
import fastifyCompress from "@fastify/compress";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** Registers the dashboard when its build exists in `dir` (a source checkout may not have built it). */
export async function dashboardPlugin(app: FastifyInstance, dir: string | undefined): Promise<void> {
  if (!dir || !existsSync(dir)) return;
  await app.register(async (scope) => {
    await scope.register(fastifyCompress, { global: true });
    // `serve: false`: our own routes below, so they can say `public` to the auth hook.
    await scope.register(fastifyStatic, {
      root: dir,
      serve: false,
      cacheControl: false,
      setHeaders: (reply, path) => {
        // Hashed asset names can be cached for good; index.html must be revalidated to see a new build.
        reply.header("cache-control", /[\\/]assets[\\/]/.test(path) ? "public, max-age=31536000, immutable" : "no-cache");
        reply.header("content-security-policy", CSP);
        reply.header("x-content-type-options", "nosniff");
        reply.header("referrer-policy", "same-origin");
      },
    });
    scope.get("/dashboard/*", { config: { public: true }, schema: { hide: true } }, async (request, reply) => {
      const file = (request.params as { "*": string })["*"];
      return reply.sendFile(file === "" ? "index.html" : file);
    });
  });
  app.get("/dashboard", { config: { public: true }, schema: { hide: true } }, async (_request, reply) => reply.redirect("/dashboard/"));
  app.get("/", { config: { public: true }, schema: { hide: true } }, async (_request, reply) => reply.redirect("/dashboard/"));
}
