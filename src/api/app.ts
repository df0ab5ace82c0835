/**
 * The daemon's HTTP API: a Fastify instance built from plugins, one per area, with services
 * injected. Route schemas (zod) validate input and generate the OpenAPI document.
 */
import swagger from "@fastify/swagger";
import Fastify, { type FastifyInstance } from "fastify";
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import { z } from "zod";
import { newId } from "../core/ids.ts";
import { auditPlugin } from "./audit-hook.ts";
import { authPlugin } from "./auth.ts";
import { dashboardPlugin } from "./dashboard.ts";
import { installErrorHandler } from "./errors.ts";
import { cronRoutes } from "./routes/cron.ts";
import { dataRoutes } from "./routes/data.ts";
import { dataUpgradeRoutes } from "./routes/data-upgrade.ts";
import { deployRoutes } from "./routes/deploys.ts";
import { eventRoutes } from "./routes/events.ts";
import { healthRoutes } from "./routes/health.ts";
import { logRoutes } from "./routes/logs.ts";
import { auditRoutes } from "./routes/audit.ts";
import { secretRoutes } from "./routes/secrets.ts";
import { projectRoutes } from "./routes/projects.ts";
import { tokenRoutes } from "./routes/tokens.ts";
import { gitRoutes } from "./routes/git.ts";
import { operationRoutes } from "./routes/operations.ts";
import { policyRoutes } from "./routes/policy.ts";
import { metricRoutes } from "./routes/metrics.ts"; // observability (issue 18)
import { alertRoutes } from "./routes/alerts.ts"; // observability (issue 18)
import { workflowRoutes } from "./routes/workflow.ts"; // environments as a workflow (issue 19)
import { previewRoutes } from "./routes/previews.ts"; // preview environments (issue 19)
import { nodeRoutes } from "./routes/nodes.ts"; // the swarm's nodes (issue 20)
import { sessionRoutes } from "./routes/session.ts"; // dashboard login (issue 21)
import type { ApiDeps } from "./types.ts";

export type { ApiDeps } from "./types.ts";

/** Route plugins, in registration order. Areas added later append here. */
export const routePlugins = [auditPlugin, healthRoutes, tokenRoutes, projectRoutes, eventRoutes, deployRoutes, logRoutes, cronRoutes, secretRoutes, auditRoutes, dataRoutes, dataUpgradeRoutes, gitRoutes, operationRoutes, policyRoutes, metricRoutes, alertRoutes, workflowRoutes, previewRoutes, nodeRoutes, sessionRoutes] as const;

/** A registered route and the role it requires (for the auth test and docs). */
export interface RouteInfo {
  readonly method: string;
  readonly url: string;
  readonly role: string | undefined;
  readonly public: boolean;
}

/** Routes registered on an app built by `buildApi`. */
export const registeredRoutes = new WeakMap<FastifyInstance, RouteInfo[]>();

export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ? { level: "info", redact: ["req.headers.authorization"] } : false,
    genReqId: () => newId("req"),
    requestIdHeader: false,
    bodyLimit: 8 * 1024 * 1024,
    // Followed logs and event streams never end on their own: closing the daemon ends them
    // instead of waiting out the keep-alive timeout (72 s).
    forceCloseConnections: true,
  });
  const routes: RouteInfo[] = [];
  registeredRoutes.set(app, routes);
  app.addHook("onRoute", (r) => {
    for (const method of [r.method].flat()) {
      if (method === "HEAD") continue;
      routes.push({ method, url: r.url, role: r.config?.role, public: !!r.config?.public });
    }
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  installErrorHandler(app);
  await app.register(swagger, {
    openapi: {
      info: { title: "Berth API", version: deps.version },
      components: { securitySchemes: { token: { type: "http", scheme: "bearer" } } },
      security: [{ token: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(authPlugin, deps);
  for (const plugin of routePlugins) await app.register(plugin, deps);
  await dashboardPlugin(app, deps.dashboardDir);
  app.get("/openapi.json", { config: { role: "viewer" }, schema: { hide: true, response: { 200: z.unknown() } } }, async () => app.swagger());
  return app;
}
