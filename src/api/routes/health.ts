import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { ApiDeps } from "../types.ts";

/** Liveness: the only route that needs no token. */
export const healthRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get(
    "/healthz",
    { config: { public: true }, schema: { tags: ["system"], response: { 200: z.object({ ok: z.boolean(), version: z.string() }) } } },
    async () => ({ ok: true, version: deps.version }),
  );
  app.get(
    "/v1/whoami",
    {
      config: { role: "viewer" },
      schema: { tags: ["system"], response: { 200: z.object({ name: z.string(), role: z.string(), projects: z.array(z.string()) }) } },
    },
    async (request) => {
      const p = request.principal!;
      return { name: p.name, role: p.role, projects: [...p.projects] };
    },
  );
};
