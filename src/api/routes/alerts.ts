/**
 * Alerts (issue 18): firing, pending and recent resolved alerts, newest first. Scoped tokens see
 * only their projects' alerts.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { visibleProjects } from "../auth.ts";
import type { ApiDeps } from "../types.ts";

const Alert = z.object({
  id: z.string(),
  rule: z.string(),
  severity: z.enum(["critical", "warning", "info"]),
  state: z.enum(["pending", "firing", "resolved"]),
  project: z.string(),
  environment: z.string(),
  service: z.string(),
  summary: z.string(),
  value: z.number().nullable(),
  startedAt: z.string(),
  firedAt: z.string().nullable(),
  resolvedAt: z.string().nullable(),
});

const Query = z.object({
  project: z.string().optional(),
  environment: z.string().optional(),
  state: z.enum(["open", "pending", "firing", "resolved"]).optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(100),
});

export const alertRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const alerts = deps.observe?.alerts;
  if (!alerts) return;
  const view = (rows: ReturnType<typeof alerts.list>) => rows.map(({ dedupKey: _k, updatedAt: _u, ...a }) => a);
  app.get("/v1/alerts", { config: { role: "viewer" }, schema: { tags: ["alerts"], querystring: Query, response: { 200: z.array(Alert) } } }, async (request) => {
    const projects = visibleProjects(request);
    const q = request.query;
    return view(alerts.list({ ...(projects ? { projects } : {}), ...(q.project ? { project: q.project } : {}), ...(q.environment ? { environment: q.environment } : {}), ...(q.state ? { state: q.state } : {}), limit: q.limit }));
  });
  app.get(
    "/v1/projects/:project/alerts",
    { config: { role: "viewer" }, schema: { tags: ["alerts"], params: z.object({ project: z.string() }), querystring: Query.omit({ project: true }), response: { 200: z.array(Alert) } } },
    async (request) => {
      const q = request.query;
      return view(alerts.list({ project: request.params.project, ...(q.environment ? { environment: q.environment } : {}), ...(q.state ? { state: q.state } : {}), limit: q.limit }));
    },
  );
};
