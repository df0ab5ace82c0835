import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { BerthError } from "../../core/errors.ts";
import type { ReleaseInputs } from "../../deploy/inputs.ts";
import type { ApiDeps } from "../types.ts";

const Step = z.object({ step: z.string(), detail: z.string(), ms: z.number(), at: z.string() });
const Deploy = z.object({
  id: z.string(),
  service: z.string(),
  release: z.number().nullable(),
  status: z.string(),
  step: z.string().nullable(),
  reason: z.string().nullable(),
  steps: z.array(Step),
  actor: z.string(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});
const Release = z.object({ number: z.number(), digest: z.string(), createdAt: z.string(), desired: z.boolean() });
const EnvParams = z.object({ project: z.string(), environment: z.string() });
const SvcParams = EnvParams.extend({ service: z.string() });

/** Deploy history, releases, and rollback (a deploy of an older release). */
export const deployRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const { store } = deps;
  /** The release that was live before the current one (failed releases are never a rollback target). */
  const previousLiveRelease = (serviceId: string, currentId: string | undefined) => {
    const live = store.deploys.list({ serviceId, limit: 500 }).find((d) => d.status === "live" && d.releaseId && d.releaseId !== currentId);
    return live?.releaseId ? store.releases.byId(live.releaseId) : undefined;
  };
  const service = (p: z.infer<typeof SvcParams>) => {
    const env = store.environments.require(p.project, p.environment);
    const svc = store.services.byName(env.id, p.service);
    if (!svc) throw new BerthError("BERTH_NOT_FOUND", { kind: "service", name: `${p.project}/${p.environment}/${p.service}` });
    return { env, svc };
  };

  app.get(
    "/v1/projects/:project/environments/:environment/deploys",
    {
      config: { role: "viewer" },
      schema: { tags: ["deploys"], params: EnvParams, querystring: z.object({ service: z.string().optional(), limit: z.coerce.number().int().min(1).max(500).default(50) }), response: { 200: z.array(Deploy) } },
    },
    async (request) => {
      const env = store.environments.require(request.params.project, request.params.environment);
      const svc = request.query.service ? store.services.byName(env.id, request.query.service) : undefined;
      if (request.query.service && !svc) throw new BerthError("BERTH_NOT_FOUND", { kind: "service", name: request.query.service });
      return store.deploys
        .list({ environmentId: env.id, ...(svc ? { serviceId: svc.id } : {}), limit: request.query.limit })
        .map((d) => ({ ...d, release: d.releaseNumber, steps: [...d.steps] }));
    },
  );

  app.get(
    "/v1/projects/:project/environments/:environment/services/:service/releases",
    { config: { role: "viewer" }, schema: { tags: ["deploys"], params: SvcParams, response: { 200: z.array(Release) } } },
    async (request) => {
      const { svc } = service(request.params);
      return store.releases.list(svc.id).map((r) => ({ number: r.number, digest: r.artifact.digest, createdAt: r.createdAt, desired: r.id === svc.desiredReleaseId }));
    },
  );

  app.post(
    "/v1/projects/:project/environments/:environment/services/:service/rollback",
    {
      config: { role: "deployer" },
      schema: {
        tags: ["deploys"],
        params: SvcParams,
        body: z.strictObject({ release: z.number().int().min(1).optional().describe("release number; default: the one before the current") }),
        response: { 202: z.object({ release: z.number() }) },
      },
    },
    async (request, reply) => {
      const { env, svc } = service(request.params);
      const current = svc.desiredReleaseId ? store.releases.byId(svc.desiredReleaseId) : undefined;
      const target =
        request.body.release !== undefined
          ? store.releases.byNumber(svc.id, request.body.release)
          : previousLiveRelease(svc.id, current?.id);
      if (!target) throw new BerthError("BERTH_NOT_FOUND", { kind: "release", name: `${svc.name}#${request.body.release ?? "previous"}` });
      const config = target.config as { inputs: ReleaseInputs; inputsDigest: string };
      store.services.pinRelease(svc.id, target.id, config.inputs, config.inputsDigest, new Date(deps.clock.now()).toISOString());
      deps.bus.emit({
        type: "deploy:rollback",
        scope: { project: env.project, environment: env.name, service: svc.name },
        actor: request.principal!.name,
        data: { service: svc.name, from: current?.number ?? null, to: target.number },
      });
      deps.requestReconcile(env.id);
      reply.status(202);
      return { release: target.number };
    },
  );

  app.post(
    "/v1/projects/:project/environments/:environment/services/:service/redeploy",
    {
      config: { role: "deployer" },
      schema: {
        tags: ["deploys"],
        description:
          "Deploys the service again: its current release is copied into a new one (same artifact, config and sealed env) and rolled out with every step. A service whose last deploy failed is retried; one with newer inputs waiting gets their release instead.",
        params: SvcParams,
        response: { 202: z.object({ release: z.number().nullable() }) },
      },
    },
    async (request, reply) => {
      const { env, svc } = service(request.params);
      const now = new Date(deps.clock.now()).toISOString();
      const current = svc.desiredReleaseId ? store.releases.byId(svc.desiredReleaseId) : undefined;
      const currentDigest = (current?.config as { inputsDigest?: string } | undefined)?.inputsDigest;
      // A fresh copy only when the release is what the inputs describe; otherwise the reconcile cuts theirs.
      const copy = current && currentDigest === svc.inputsDigest ? store.releases.create(svc.id, current.artifact, current.config, current.sealedEnv, now) : undefined;
      store.db.tx(() => {
        if (copy) store.services.setDesiredRelease(svc.id, copy.id, now);
        store.services.markFailed(svc.id, null, now);
      });
      deps.bus.emit({
        type: "deploy:redeploy",
        scope: { project: env.project, environment: env.name, service: svc.name },
        actor: request.principal!.name,
        data: { service: svc.name, from: current?.number ?? null, to: copy?.number ?? null },
      });
      deps.requestReconcile(env.id);
      reply.status(202);
      return { release: copy?.number ?? null };
    },
  );
};
