/**
 * Authentication and authorization for every route: a bearer token (stored hashed) with a role
 * and optional project scope. Routes declare `config.role`; only `config.public` routes skip it.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { BerthError } from "../core/errors.ts";
import { roleAtLeast } from "../store/repositories/tokens.ts";
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

export const authPlugin = fp(async (app: FastifyInstance, deps: ApiDeps) => {
  app.addHook("onRequest", async (request) => {
    const config = request.routeOptions.config;
    if (config.public || request.is404) return;
    const header = request.headers.authorization ?? "";
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const row = token ? deps.store.tokens.verify(token, new Date(deps.clock.now()).toISOString()) : undefined;
    if (!row) {
      deps.bus.emit({ type: "auth:rejected", data: { route: `${request.method} ${request.routeOptions.url}`, reason: token ? "unknown or revoked token" : "no token", address: request.ip } });
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
