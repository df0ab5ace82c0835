import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { BerthError } from "../../core/errors.ts";
import type { TokenRow } from "../../store/repositories/tokens.ts";
import type { ApiDeps } from "../types.ts";

/**
 * A token scoped to some projects manages only tokens inside its scope (issue 17): it may not
 * mint an unscoped token, nor see or revoke tokens of other projects.
 */
function withinScope(principal: TokenRow, projects: readonly string[]): boolean {
  if (principal.projects.length === 0) return true;
  return projects.length > 0 && projects.every((p) => principal.projects.includes(p));
}

const Role = z.enum(["owner", "deployer", "viewer"]);
const TokenOut = z.object({
  name: z.string(),
  role: Role,
  projects: z.array(z.string()),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});

/** API tokens: owner only. The token value is returned once, at creation. */
export const tokenRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const now = () => new Date(deps.clock.now()).toISOString();
  app.post(
    "/v1/tokens",
    {
      config: { role: "owner" },
      schema: {
        tags: ["tokens"],
        body: z.strictObject({
          name: z.string().regex(/^[a-zA-Z0-9._-]{1,64}$/, "1-64 letters, digits, dots, dashes or underscores"),
          role: Role,
          projects: z.array(z.string()).default([]),
        }),
        response: { 201: z.object({ token: z.string(), name: z.string(), role: Role, projects: z.array(z.string()) }) },
      },
    },
    async (request, reply) => {
      const p = request.principal!;
      if (!withinScope(p, request.body.projects)) {
        throw new BerthError("BERTH_FORBIDDEN", { token: p.name, role: p.role, action: `create a token for ${request.body.projects.length ? request.body.projects.join(", ") : "every project"}`, required: "owner of those projects" });
      }
      const { token, row } = deps.store.tokens.create(request.body, now());
      deps.bus.emit({ type: "token:created", actor: request.principal!.name, data: { name: row.name, role: row.role } });
      reply.status(201);
      return { token, name: row.name, role: row.role, projects: [...row.projects] };
    },
  );
  app.get("/v1/tokens", { config: { role: "owner" }, schema: { tags: ["tokens"], response: { 200: z.array(TokenOut) } } }, async (request) =>
    deps.store.tokens
      .list()
      .filter((t) => withinScope(request.principal!, t.projects))
      .map((t) => ({ ...t, projects: [...t.projects] })),
  );
  app.delete(
    "/v1/tokens/:name",
    { config: { role: "owner" }, schema: { tags: ["tokens"], params: z.object({ name: z.string() }), response: { 204: z.null() } } },
    async (request, reply) => {
      const target = deps.store.tokens.byName(request.params.name);
      // Out of scope looks like absent: a scoped owner learns nothing of other projects' tokens.
      if (!target || !withinScope(request.principal!, target.projects)) throw new BerthError("BERTH_NOT_FOUND", { kind: "token", name: request.params.name });
      deps.store.tokens.revoke(request.params.name, now());
      deps.bus.emit({ type: "token:revoked", actor: request.principal!.name, data: { name: request.params.name } });
      reply.status(204);
      return null;
    },
  );
};
