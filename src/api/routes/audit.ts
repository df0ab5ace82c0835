import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { BerthError } from "../../core/errors.ts";
import { visibleProjects } from "../auth.ts";
import type { ApiDeps } from "../types.ts";

const Entry = z.object({
  seq: z.number(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  target: z.string(),
  project: z.string().nullable(),
  address: z.string(),
  status: z.number(),
  requestId: z.string(),
});

/** The audit log (owner role): every mutating request and every secret read, oldest first. */
export const auditRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get(
    "/v1/audit",
    {
      config: { role: "owner" },
      schema: {
        tags: ["audit"],
        querystring: z.object({
          after: z.coerce.number().int().min(0).default(0),
          actor: z.string().optional(),
          limit: z.coerce.number().int().min(1).max(5000).default(100),
        }),
        response: { 200: z.array(Entry) },
      },
    },
    async (request) => {
      if (!deps.audit) throw new BerthError("BERTH_INTERNAL", { detail: "the audit log is not configured" });
      const projects = visibleProjects(request);
      return deps.audit.list({
        afterSeq: request.query.after,
        limit: request.query.limit,
        ...(request.query.actor ? { actor: request.query.actor } : {}),
        ...(projects ? { projects } : {}),
      });
    },
  );
};
