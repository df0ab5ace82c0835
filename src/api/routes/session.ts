import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { BerthError } from "../../core/errors.ts";
import { cookieValue, requireSameSite, SESSION_COOKIE } from "../auth.ts";
import type { ApiDeps } from "../types.ts";

/** How long a dashboard login lasts (absolute, not sliding): one working day. */
export const SESSION_TTL_MS = 12 * 3_600_000;

const Who = z.object({ name: z.string(), role: z.string(), projects: z.array(z.string()), expiresAt: z.string() });

/** `Set-Cookie` for the session: HttpOnly, SameSite=Strict, Secure over HTTPS, scoped to the daemon. */
export function sessionCookie(value: string, maxAgeS: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure ? "; Secure" : ""}`;
}

/**
 * Dashboard login (issue 21): an API token in, a session cookie out. The token never reaches
 * the browser's JavaScript again; the session acts with the token's role and scope until it
 * expires, the user logs out, or the token is revoked. Login itself needs the CSRF header too,
 * so another site cannot log a browser into an attacker's session.
 */
export const sessionRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.post(
    "/v1/session",
    {
      config: { public: true },
      schema: {
        tags: ["system"],
        description: "Exchanges an API token for an HttpOnly, SameSite=Strict session cookie (the dashboard's login). Needs the `X-Berth-CSRF: 1` header.",
        body: z.strictObject({ token: z.string().min(1).max(200) }),
        response: { 201: Who },
      },
    },
    async (request, reply) => {
      requireSameSite(request);
      const nowMs = deps.clock.now();
      const row = deps.store.tokens.verify(request.body.token, new Date(nowMs).toISOString());
      if (!row) {
        deps.bus.emit({ type: "auth:rejected", data: { route: "POST /v1/session", reason: "unknown or revoked token", address: request.ip } });
        throw new BerthError("BERTH_UNAUTHENTICATED");
      }
      request.principal = row;
      const expiresAt = new Date(nowMs + SESSION_TTL_MS).toISOString();
      const id = deps.store.sessions.create(row.id, new Date(nowMs).toISOString(), expiresAt);
      reply.header("set-cookie", sessionCookie(id, SESSION_TTL_MS / 1000, request.protocol === "https"));
      reply.status(201);
      return { name: row.name, role: row.role, projects: [...row.projects], expiresAt };
    },
  );

  app.delete(
    "/v1/session",
    { config: { role: "viewer" }, schema: { tags: ["system"], description: "Ends the dashboard session of the request's cookie (logout).", response: { 204: z.null() } } },
    async (request, reply) => {
      const id = cookieValue(request.headers.cookie, SESSION_COOKIE);
      if (id) deps.store.sessions.delete(id);
      reply.header("set-cookie", sessionCookie("", 0, request.protocol === "https"));
      reply.status(204);
      return null;
    },
  );
};
