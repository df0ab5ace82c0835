/**
 * Metrics (issue 18): a service's summary and series over a time range (what `berth metrics`
 * and the dashboard draw), an environment overview, and `/metrics` in Prometheus format.
 * Scoped tokens see only their projects (the `:project` routes are checked by the auth hook;
 * `/metrics` filters its series).
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { parseDurationMs } from "../../core/units.ts";
import { renderPrometheus } from "../../observe/metrics/prometheus.ts";
import { series, summarize } from "../../observe/metrics/query.ts";
import { visibleProjects } from "../auth.ts";
import type { ApiDeps } from "../types.ts";

const Duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, "a duration such as 10m or 2h");

const Range = z.object({
  since: Duration.default("1h"),
  step: Duration.optional().describe("Width of one point of the series (default: the range / 60, at least 10s)."),
  instance: z.string().optional(),
});

export const metricRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const observe = deps.observe;
  if (!observe) return;
  const range = (q: z.infer<typeof Range>) => {
    observe.collector.flush(); // what the current interval holds so far counts too
    const toS = Math.floor(deps.clock.now() / 1000);
    const fromS = toS - Math.floor(parseDurationMs(q.since)! / 1000);
    const stepS = q.step ? Math.max(1, Math.floor(parseDurationMs(q.step)! / 1000)) : Math.max(observe.collector.resolutionS, Math.ceil((toS - fromS) / 60 / 10) * 10);
    return { fromS, toS, stepS };
  };

  app.get(
    "/v1/projects/:project/environments/:environment/services/:service/metrics",
    {
      config: { role: "viewer" },
      schema: {
        tags: ["metrics"],
        description: "Requests, status classes, error rate, p50/p95/p99 latency (from histograms), CPU, memory, restarts: a summary and series.",
        params: z.object({ project: z.string(), environment: z.string(), service: z.string() }),
        querystring: Range,
      },
    },
    async (request) => {
      const { project, environment, service } = request.params;
      deps.store.environments.require(project, environment);
      const { fromS, toS, stepS } = range(request.query);
      const sel = { project, environment, service, ...(request.query.instance ? { instance: request.query.instance } : {}) };
      return { service: { project, environment, service }, summary: summarize(observe.repo, sel, fromS, toS), series: series(observe.repo, sel, fromS, toS, stepS) };
    },
  );

  app.get(
    "/v1/projects/:project/environments/:environment/metrics",
    {
      config: { role: "viewer" },
      schema: { tags: ["metrics"], description: "A summary per service of the environment.", params: z.object({ project: z.string(), environment: z.string() }), querystring: Range },
    },
    async (request) => {
      const { project, environment } = request.params;
      const env = deps.store.environments.require(project, environment);
      const { fromS, toS } = range(request.query);
      return {
        services: deps.store.services.list(env.id).map((s) => ({ service: s.name, kind: s.kind, summary: summarize(observe.repo, { project, environment, service: s.name }, fromS, toS) })),
      };
    },
  );

  app.get("/metrics", { config: { role: "viewer" }, schema: { tags: ["metrics"], description: "Prometheus text format (0.0.4): running totals since the daemon started." } }, async (request, reply) => {
    const projects = visibleProjects(request);
    reply.header("content-type", "text/plain; version=0.0.4; charset=utf-8");
    return renderPrometheus(observe.collector.totals(), (p) => !projects || projects.includes(p));
  });
};
