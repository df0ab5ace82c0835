import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { ApiDeps } from "../types.ts";

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
      const { token, row } = deps.store.tokens.create(request.body, now());
      deps.bus.emit({ type: "token:created", actor: request.principal!.name, data: { name: row.name, role: row.role } });
      reply.status(201);
      return { token, name: row.name, role: row.role, projects: [...row.projects] };
    },
  );
  app.get("/v1/tokens", { config: { role: "owner" }, schema: { tags: ["tokens"], response: { 200: z.array(TokenOut) } } }, async () =>
    deps.store.tokens.list().map((t) => ({ ...t, projects: [...t.projects] })),
  );
  app.delete(
    "/v1/tokens/:name",
    { config: { role: "owner" }, schema: { tags: ["tokens"], params: z.object({ name: z.string() }), response: { 204: z.null() } } },
    async (request, reply) => {
      deps.store.tokens.revoke(request.params.name, now());
      deps.bus.emit({ type: "token:revoked", actor: request.principal!.name, data: { name: request.params.name } });
      reply.status(204);
      return null;
    },
  );
};
