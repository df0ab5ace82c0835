/**
 * Two API-wide hooks for issue 9, registered as a non-encapsulated plugin so they cover every
 * route of every area:
 *
 * - onSend masks every secret value in response bodies (`deps.redact`), except on routes that
 *   exist to reveal one (`config.revealsSecret`: `GET .../secrets/:owner/:name`, owner only).
 * - onResponse appends an audit entry for every mutating request (any method but GET/HEAD/
 *   OPTIONS), whatever its outcome (401 and 403 included), and for every route marked
 *   `config.audit` (secret reads). It records who (token name), what (METHOD + route pattern),
 *   on what (path), from where (source address), when, and the status. Never a body.
 */
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import type { ApiDeps } from "./types.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Audit this route even though it is a GET (secret reads). */
    audit?: boolean;
    /** The response carries a secret value on purpose: do not mask it. */
    revealsSecret?: boolean;
  }
}

const READS = new Set(["GET", "HEAD", "OPTIONS"]);

export const auditPlugin = fp(async (app: FastifyInstance, deps: ApiDeps) => {
  app.addHook("onSend", async (request, _reply, payload) => {
    if (!deps.redact || request.routeOptions.config?.revealsSecret || typeof payload !== "string") return payload;
    return deps.redact(payload);
  });
  app.addHook("onResponse", async (request, reply) => {
    const config = request.routeOptions.config;
    if (!deps.audit || (READS.has(request.method) && !config?.audit)) return;
    // Routes without a :project parameter (sync) name the project they acted on (issue 17).
    const project = (request.params as Record<string, string> | undefined)?.project ?? request.auditProject ?? null;
    const path = request.url.split("?")[0] ?? request.url;
    try {
      deps.audit.append(
        {
          actor: request.principal?.name ?? "-",
          action: `${request.method} ${request.routeOptions.url ?? "(no route)"}`,
          target: deps.redact ? deps.redact(path) : path,
          project,
          address: request.ip,
          status: reply.statusCode,
          requestId: request.id,
        },
        new Date(deps.clock.now()).toISOString(),
      );
    } catch (e) {
      // The response is already sent; a lost audit row must at least be loud.
      request.log.error({ err: e }, "audit log append failed");
    }
  });
});
