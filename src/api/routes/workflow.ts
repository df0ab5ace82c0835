/**
 * Environments as a workflow (issue 19): promotion between environments and the decisions on
 * deploys an approval gate holds. Recording only — the reconciler rolls out what is recorded.
 * Every POST here is in the audit log (audit-hook.ts): who decided which deploy, when, from where.
 */
import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { BerthError } from "../../core/errors.ts";
import { type Decider, mayDecide } from "../../deploy/approval.ts";
import { PENDING_DEPLOY_STATES, type PendingDeployRow } from "../../store/repositories/pending-deploys.ts";
import { requireProject, visibleProjects } from "../auth.ts";
import type { ApiDeps } from "../types.ts";

/** A held deploy on the wire (the stored request, with its blueprint text, stays in the store). */
export const PendingDeploy = z.object({
  id: z.string(),
  project: z.string(),
  environment: z.string(),
  via: z.string(),
  summary: z.string(),
  state: z.enum(PENDING_DEPLOY_STATES),
  requestedBy: z.string(),
  requestedAt: z.string(),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
  supersededBy: z.string().nullable(),
  reason: z.string().nullable(),
  generation: z.number().nullable(),
  services: z.array(z.string()),
});
export type PendingDeployOut = z.infer<typeof PendingDeploy>;

export function pendingDeployOut(r: PendingDeployRow): PendingDeployOut {
  return {
    id: r.id,
    project: r.project,
    environment: r.environment,
    via: r.via,
    summary: r.summary,
    state: r.state,
    requestedBy: r.requestedBy,
    requestedAt: r.requestedAt,
    decidedBy: r.decidedBy,
    decidedAt: r.decidedAt,
    supersededBy: r.supersededBy,
    reason: r.reason,
    generation: r.generation,
    services: Object.keys(r.request.revisions),
  };
}

// Any string: a malformed id is simply not found, after the role check (a viewer gets 403 first).
const IdParams = z.object({ id: z.string().max(64).describe("a pending deploy id (pdep_...)") });
const Decided = z.object({ deploy: PendingDeploy, generation: z.number() });

export const workflowRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const workflow = () => {
    if (!deps.workflow) throw new BerthError("BERTH_BAD_REQUEST", { detail: "this daemon has no environment workflow" });
    return deps.workflow;
  };
  const decider = (request: FastifyRequest): Decider => {
    const p = request.principal!;
    return { name: p.name, role: p.role, projects: p.projects };
  };

  app.post(
    "/v1/projects/:project/environments/:environment/promote",
    {
      config: { role: "deployer" },
      schema: {
        tags: ["deploys"],
        description: "Records, as this environment's desired state, the very artifacts another environment runs (no rebuild), with this environment's own env, secrets and resources. Held as a pending deploy when the environment requires approval.",
        params: z.object({ project: z.string(), environment: z.string() }),
        body: z.strictObject({
          from: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, "an environment name"),
          services: z.array(z.string()).optional().describe("services to promote; absent with all: true"),
          all: z.boolean().optional().describe("promote every service of the source environment, with its blueprint"),
        }),
        response: {
          202: z.object({
            project: z.string(),
            environment: z.string(),
            generation: z.number(),
            promoted: z.array(z.object({ service: z.string(), release: z.number(), digest: z.string() })),
            pending: PendingDeploy.nullable(),
          }),
        },
      },
    },
    async (request, reply) => {
      const { project, environment } = request.params;
      const { from, services, all } = request.body;
      if (!all && (!services || services.length === 0)) throw new BerthError("BERTH_PROMOTE_INVALID", { from, to: environment, detail: "no service named", next: "Name a service, or promote every one with `--all`." });
      if (all && services && services.length > 0) throw new BerthError("BERTH_PROMOTE_INVALID", { from, to: environment, detail: "both --all and services were given", next: "Use one of them." });
      const r = await workflow().promoter.promote({
        project,
        from,
        to: environment,
        services: all ? "all" : services!,
        actor: request.principal!.name,
        requester: { token: request.principal!.name, mayChooseSource: false, authorizeProject: (p) => requireProject(request, p) },
      });
      reply.status(202);
      return { project, environment, generation: r.sync.generation, promoted: [...r.promoted], pending: r.sync.pending ? pendingDeployOut(r.sync.pending) : null };
    },
  );

  app.get(
    "/v1/pending-deploys",
    {
      config: { role: "viewer" },
      schema: {
        tags: ["deploys"],
        description: "Deploys held by approval gates, newest first (pending ones, and decided ones with `state`).",
        querystring: z.object({
          project: z.string().optional(),
          environment: z.string().optional(),
          state: z.enum(PENDING_DEPLOY_STATES).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
        }),
        response: { 200: z.array(PendingDeploy) },
      },
    },
    async (request) => {
      const q = request.query;
      const visible = visibleProjects(request);
      return deps.store.pendingDeploys
        .list({ ...(q.project ? { project: q.project } : {}), ...(q.environment ? { environment: q.environment } : {}), ...(q.state ? { states: [q.state] } : {}), ...(visible ? { projects: visible } : {}), limit: q.limit })
        .map(pendingDeployOut);
    },
  );

  app.get("/v1/pending-deploys/:id", { config: { role: "viewer" }, schema: { tags: ["deploys"], params: IdParams, response: { 200: PendingDeploy } } }, async (request) => {
    const row = deps.store.pendingDeploys.byId(request.params.id);
    const visible = visibleProjects(request);
    if (!row || (visible && !visible.includes(row.project))) throw new BerthError("BERTH_NOT_FOUND", { kind: "pending deploy", name: request.params.id });
    return pendingDeployOut(row);
  });

  // Any token may ask; the rules (deploy/approval.ts) refuse every role but the approver's with
  // a catalogue error that says who may, before the id is even looked up.
  app.post(
    "/v1/pending-deploys/:id/approve",
    { config: { role: "viewer" }, schema: { tags: ["deploys"], description: "Approves a held deploy (owner): it is recorded as desired state and rolled out.", params: IdParams, response: { 202: Decided } } },
    async (request, reply) => {
      const who = decider(request);
      const role = mayDecide(who, "approve");
      if (!role.ok) throw new BerthError(role.code, role.params);
      const held = deps.store.pendingDeploys.byId(request.params.id);
      if (held && (who.projects.length === 0 || who.projects.includes(held.project))) request.auditProject = held.project;
      const r = await workflow().approvals.approve(request.params.id, who);
      reply.status(202);
      return { deploy: pendingDeployOut(r.deploy), generation: r.sync.generation };
    },
  );

  app.post(
    "/v1/pending-deploys/:id/reject",
    {
      config: { role: "viewer" },
      schema: {
        tags: ["deploys"],
        description: "Rejects a held deploy (owner): nothing of it is recorded.",
        params: IdParams,
        body: z.strictObject({ reason: z.string().max(500).optional() }).default({}),
        response: { 200: PendingDeploy },
      },
    },
    async (request) => {
      const who = decider(request);
      const role = mayDecide(who, "reject");
      if (!role.ok) throw new BerthError(role.code, role.params);
      const held = deps.store.pendingDeploys.byId(request.params.id);
      if (held && (who.projects.length === 0 || who.projects.includes(held.project))) request.auditProject = held.project;
      return pendingDeployOut(workflow().approvals.reject(request.params.id, who, request.body.reason ?? null));
    },
  );
};
