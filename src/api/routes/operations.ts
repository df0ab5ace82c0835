/**
 * Recorded operations (issue 15): list, show and cancel. Entry points that start long work
 * (git deploy, and the data operations) answer with an operation id; clients poll
 * `GET /v1/operations/:id` (or follow `operation:*` events) until it has finished. A token
 * scoped to projects sees only their operations; daemon-wide ones are hidden from it.
 */
import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { BerthError } from "../../core/errors.ts";
import { OPERATION_STATES, type OperationRow } from "../../store/repositories/operations.ts";
import { requireProject, visibleProjects } from "../auth.ts";
import type { ApiDeps } from "../types.ts";

/** The wire shape of an operation (also embedded in `/v1/status` and in entry points' answers). */
export const Operation = z.object({
  id: z.string(),
  kind: z.string(),
  key: z.string(),
  project: z.string().nullable(),
  environment: z.string().nullable(),
  state: z.enum(OPERATION_STATES),
  params: z.unknown(),
  progress: z.object({ step: z.string(), detail: z.string(), done: z.number().optional(), total: z.number().optional(), at: z.string() }).nullable(),
  result: z.unknown(),
  error: z.object({ code: z.string(), message: z.string(), hint: z.string() }).nullable(),
  attempts: z.number(),
  createdBy: z.string(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
});

export function operationOut(row: OperationRow): z.infer<typeof Operation> {
  const { cancelRequested: _, ...rest } = row;
  return { ...rest };
}

const Query = z.object({
  project: z.string().optional(),
  environment: z.string().optional(),
  kind: z.string().optional(),
  state: z.string().optional().describe("comma-separated states: pending,running,succeeded,failed,cancelled"),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
});
const IdParams = z.object({ id: z.string() });

export const operationRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  /** The operation, if the request's token may see it (404 otherwise: ids are not probed). */
  const visible = (request: FastifyRequest, id: string): OperationRow => {
    const row = deps.store.operations.byId(id);
    const projects = visibleProjects(request);
    if (!row || (projects && (row.project === null || !projects.includes(row.project)))) throw new BerthError("BERTH_NOT_FOUND", { kind: "operation", name: id });
    return row;
  };

  app.get(
    "/v1/operations",
    { config: { role: "viewer" }, schema: { tags: ["operations"], description: "Recorded operations, newest first.", querystring: Query, response: { 200: z.array(Operation) } } },
    async (request) => {
      const q = request.query;
      if (q.project) requireProject(request, q.project);
      const states = q.state?.split(",").map((s) => s.trim());
      const bad = states?.find((s) => !(OPERATION_STATES as readonly string[]).includes(s));
      if (bad !== undefined) throw new BerthError("BERTH_BAD_REQUEST", { detail: `state: '${bad}' is not one of ${OPERATION_STATES.join(", ")}` });
      const projects = visibleProjects(request);
      return deps.store.operations
        .list({
          ...(q.project ? { project: q.project } : {}),
          ...(q.environment ? { environment: q.environment } : {}),
          ...(q.kind ? { kind: q.kind } : {}),
          ...(states ? { states: states as OperationRow["state"][] } : {}),
          ...(projects ? { projects } : {}),
          limit: q.limit,
        })
        .map(operationOut);
    },
  );

  app.get("/v1/operations/:id", { config: { role: "viewer" }, schema: { tags: ["operations"], params: IdParams, response: { 200: Operation } } }, async (request) =>
    operationOut(visible(request, request.params.id)),
  );

  app.post(
    "/v1/operations/:id/cancel",
    {
      config: { role: "deployer" },
      schema: { tags: ["operations"], description: "Cancels a pending operation, or asks a running one to stop (it rolls back).", params: IdParams, response: { 202: Operation } },
    },
    async (request, reply) => {
      visible(request, request.params.id);
      if (!deps.operations) throw new BerthError("BERTH_INTERNAL", { detail: "operations are not configured in this daemon" });
      const row = deps.operations.cancel(request.params.id, request.principal!.name);
      reply.status(202);
      return operationOut(row);
    },
  );
};
