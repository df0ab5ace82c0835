/**
 * Authentication and authorization for every route: a bearer token (stored hashed) with a role
 * and optional project scope, or a dashboard session cookie made from one (CSRF-checked).
 * Routes declare `config.role`; only `config.public` routes skip it.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { BerthError } from "../core/errors.ts";
import { roleAtLeast, type TokenRow } from "../store/repositories/tokens.ts";
import type { ApiDeps } from "./types.ts";

/** Throws unless the request's token may act on `project`. */
export function requireProject(request: FastifyRequest, project: string): void {
  const p = request.principal;
  if (p && p.projects.length > 0 && !p.projects.includes(project)) {
    throw new BerthError("BERTH_FORBIDDEN", { token: p.name, role: p.role, action: `access project ${project}`, required: p.role });
  }
}

/**
 * Whether the request may name paths on the daemon's host (a dir source, a local git
 * repository): the daemon reads them as root, so only an owner token without a project scope
 * may (issue 17, docs/design/security.md).
 */
export function mayChooseHostPaths(request: FastifyRequest): boolean {
  const p = request.principal;
  return !!p && p.role === "owner" && p.projects.length === 0;
}

/** Throws unless the request's token is an owner for every project (quotas, allowed ports). */
export function requireUnscopedOwner(request: FastifyRequest, action: string): void {
  const p = request.principal;
  if (p?.role !== "owner" || p.projects.length > 0) {
    throw new BerthError("BERTH_FORBIDDEN", { token: p?.name ?? "-", role: p?.role ?? "none", action, required: "owner (without a project scope)" });
  }
}

/** Project names the request may see, or undefined for all. */
export function visibleProjects(request: FastifyRequest): readonly string[] | undefined {
  const p = request.principal;
  return p && p.projects.length > 0 ? p.projects : undefined;
}

/** The dashboard's session cookie (issue 21, docs/design/dashboard.md). */
export const SESSION_COOKIE = "berth_session";
/** The header a cookie-authenticated mutation must carry (a cross-site form or fetch cannot set it without CORS, which the API never grants). */
export const CSRF_HEADER = "x-berth-csrf";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** One cookie's value from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

/**
 * Throws unless a cookie-authenticated request is safe from cross-site request forgery: a
 * mutation must carry the CSRF header, and an Origin header, when present, must be this host.
 */
export function requireSameSite(request: FastifyRequest): void {
  if (SAFE_METHODS.has(request.method)) return;
  const origin = request.headers.origin;
  const host = request.headers.host;
  const sameOrigin = origin === undefined || (host !== undefined && (origin === `http://${host}` || origin === `https://${host}`));
  if (request.headers[CSRF_HEADER] !== "1" || !sameOrigin) {
    throw new BerthError("BERTH_CSRF_REJECTED", { action: `${request.method} ${request.routeOptions.url}` });
  }
}

export const authPlugin = fp(async (app: FastifyInstance, deps: ApiDeps) => {
  const now = () => new Date(deps.clock.now()).toISOString();
  /** A bearer token (CLI, scripts) or, without one, the dashboard's session cookie. */
  const authenticate = (request: FastifyRequest): { row: TokenRow | undefined; presented: boolean } => {
    const header = request.headers.authorization ?? "";
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (token) return { row: deps.store.tokens.verify(token, now()), presented: true };
    const session = cookieValue(request.headers.cookie, SESSION_COOKIE);
    if (!session) return { row: undefined, presented: false };
    // By the token's id: a session can only ever act as the very token it was made from.
    const tokenId = deps.store.sessions.tokenIdOf(session, now());
    const row = tokenId ? deps.store.tokens.byId(tokenId) : undefined;
    if (row && !row.revokedAt) requireSameSite(request);
    return { row: row && !row.revokedAt ? row : undefined, presented: true };
  };
  app.addHook("onRequest", async (request) => {
    const config = request.routeOptions.config;
    if (config.public || request.is404) return;
    const { row, presented } = authenticate(request);
    if (!row) {
      deps.bus.emit({ type: "auth:rejected", data: { route: `${request.method} ${request.routeOptions.url}`, reason: presented ? "unknown or revoked token" : "no token", address: request.ip } });
      throw new BerthError("BERTH_UNAUTHENTICATED");
    }
    request.principal = row;
    const need = config.role ?? "owner";
    if (!roleAtLeast(row.role, need)) {
      throw new BerthError("BERTH_FORBIDDEN", { token: row.name, role: row.role, action: `${request.method} ${request.routeOptions.url}`, required: need });
    }
    const project = (request.params as Record<string, string> | undefined)?.project;
    if (project) requireProject(request, project);
  });
});
