/**
 * Project policy (issue 17): a project's quota and the ports it may declare despite the
 * reserved-port rule. Anyone who may see the project reads it; only an owner without a project
 * scope changes it (a scoped owner raising its own quota would make quotas moot).
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { BerthError } from "../../core/errors.ts";
import { DEFAULT_PROJECT_QUOTA } from "../../core/limits.ts";
import { requireUnscopedOwner } from "../auth.ts";
import type { ApiDeps } from "../types.ts";

const Params = z.object({ project: z.string() });
const Policy = z.strictObject({
  instances: z.number().int().min(0).max(100_000).optional().describe(`instances over all environments (default ${DEFAULT_PROJECT_QUOTA.instances})`),
  memoryBytes: z.number().int().min(0).optional().describe(`memory over all environments (default ${DEFAULT_PROJECT_QUOTA.memoryBytes})`),
  diskBytes: z.number().int().min(0).optional().describe(`disk over all environments (default ${DEFAULT_PROJECT_QUOTA.diskBytes})`),
  allowedPorts: z.array(z.number().int().min(1).max(65535)).max(100).optional().describe("ports the project may declare although privileged or reserved"),
});
const Effective = z.object({
  project: z.string(),
  quota: z.object({ instances: z.number(), memoryBytes: z.number(), diskBytes: z.number() }),
  allowedPorts: z.array(z.number()),
  updatedAt: z.string().nullable(),
  updatedBy: z.string().nullable(),
});

export const policyRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const policies = () => {
    if (!deps.policies) throw new BerthError("BERTH_INTERNAL", { detail: "project policies are not configured" });
    return deps.policies;
  };
  const effective = (project: string): z.infer<typeof Effective> => {
    const row = policies().get(project);
    const p = row?.policy ?? {};
    return {
      project,
      quota: { instances: p.instances ?? DEFAULT_PROJECT_QUOTA.instances, memoryBytes: p.memoryBytes ?? DEFAULT_PROJECT_QUOTA.memoryBytes, diskBytes: p.diskBytes ?? DEFAULT_PROJECT_QUOTA.diskBytes },
      allowedPorts: [...(p.allowedPorts ?? [])],
      updatedAt: row?.updatedAt ?? null,
      updatedBy: row?.updatedBy ?? null,
    };
  };

  app.get(
    "/v1/projects/:project/policy",
    { config: { role: "viewer" }, schema: { tags: ["policy"], params: Params, response: { 200: Effective } } },
    async (request) => effective(request.params.project),
  );

  app.put(
    "/v1/projects/:project/policy",
    {
      config: { role: "owner" },
      schema: { tags: ["policy"], description: "Replaces the project's quota overrides and allowed ports (owner without a project scope).", params: Params, body: Policy, response: { 200: Effective } },
    },
    async (request) => {
      requireUnscopedOwner(request, `change the policy of project ${request.params.project}`);
      const body = request.body;
      policies().set(request.params.project, { ...body, ...(body.allowedPorts ? { allowedPorts: [...new Set(body.allowedPorts)].sort((a, b) => a - b) } : {}) }, request.principal!.name, new Date(deps.clock.now()).toISOString());
      return effective(request.params.project);
    },
  );
};
