import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { mayChooseHostPaths, requireProject, visibleProjects } from "../auth.ts";
import { assertSameDirectory } from "../../reconcile/sync.ts";
import { Preview, previewOut, previewUrls } from "./previews.ts";
import type { ApiDeps } from "../types.ts";
import { Operation, operationOut } from "./operations.ts";
import { Datastore, datastoresOf } from "./status-data.ts";
import { PendingDeploy, pendingDeployOut } from "./workflow.ts";

const Instance = z.object({
  id: z.string(),
  state: z.string(),
  release: z.number().nullable(),
  pid: z.number().nullable(),
  port: z.number().nullable(),
  /** Where it runs on a multi-node engine (issue 20: the Swarm node); null on the local engine. */
  node: z.string().nullable(),
  restarts: z.number(),
  startedAt: z.string().nullable(),
});
const Service = z.object({
  name: z.string(),
  kind: z.string(),
  replicas: z.number(),
  release: z.number().nullable(),
  failed: z.boolean(),
  /** Issue 19: put to sleep when idle; the first request through the router wakes it. */
  asleep: z.boolean(),
  urls: z.array(z.string()),
  instances: z.array(Instance),
});
const Environment = z.object({
  project: z.string(),
  name: z.string(),
  status: z.string(),
  statusDetail: z.string().nullable(),
  generation: z.number(),
  reconciledGeneration: z.number(),
  /** How many services the environment has (`/v1/status` lists at most 200 of them, problems first). */
  servicesTotal: z.number(),
  services: z.array(Service),
});
const EnvParams = z.object({ project: z.string(), environment: z.string() });
/** Services per environment listed by `/v1/status`. */
const STATUS_SERVICES = 200;
/** `GET /v1/status`: each environment with its datastores (issue 13). */
const StatusEnvironment = Environment.extend({ databases: z.array(Datastore), keyValues: z.array(Datastore) });

/** Desired state in (sync), status out. */
export const projectRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const { store } = deps;
  /** `limit`: at most this many services (those with a problem first); `servicesTotal` says how many there are. */
  const describe = (envId: string, limit = -1, offset = 0): z.infer<typeof Environment> => {
    const env = store.environments.requireId(envId);
    const rows = store.services.statusRows(env.id, limit, offset);
    // Two queries for the whole environment, whatever its size (issue 15).
    const instances = new Map<string, z.infer<typeof Instance>[]>();
    for (const i of store.instances.listByEnvironment(env.id, limit < 0 ? undefined : rows.map((r) => r.name))) {
      const name = i.service;
      const list = instances.get(name) ?? [];
      list.push({ id: i.id, state: i.state, release: i.releaseNumber, pid: i.pid, port: i.port, node: i.node, restarts: i.restarts, startedAt: i.startedAt });
      instances.set(name, list);
    }
    return {
      project: env.project,
      name: env.name,
      status: env.status,
      statusDetail: env.statusDetail,
      generation: env.generation,
      reconciledGeneration: env.reconciledGeneration,
      servicesTotal: limit < 0 && offset === 0 ? rows.length : store.services.count(env.id),
      services: rows.map(({ healthy: _, ...s }) => ({
        ...s,
        urls: deps.urls?.({ project: env.project, environment: env.name, service: s.name }) ?? [],
        instances: instances.get(s.name) ?? [],
      })),
    };
  };

  app.post(
    "/v1/sync",
    {
      config: { role: "deployer" },
      schema: {
        tags: ["projects"],
        description: "Records a blueprint as the desired state of one environment and requests a reconcile.",
        body: z.strictObject({
          project: z.string().optional(),
          environment: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, "lowercase letters, digits and dashes"),
          blueprint: z.string().min(1).describe("the berth.yaml text"),
          file: z.string().default("berth.yaml"),
          sourceDir: z.string().describe("absolute path of the project directory on the daemon's host"),
          retry: z.boolean().default(false).describe("retry services whose last deploy failed with these same inputs (otherwise they wait for a change)"),
          force: z.boolean().optional().describe("deploy even if the project is deployed from another directory (moves it here)"),
        }),
        response: {
          202: z.object({
            project: z.string(),
            environment: z.string(),
            generation: z.number(),
            services: z.array(z.string()),
            warnings: z.array(z.object({ code: z.string(), message: z.string(), line: z.number(), column: z.number() })),
            pending: PendingDeploy.nullable().describe("the environment requires approval: nothing was recorded but this held deploy (issue 19)"),
          }),
        },
      },
    },
    async (request, reply) => {
      if (request.body.project) requireProject(request, request.body.project);
      if (request.body.project) request.auditProject = request.body.project;
      const r = await deps.sync(
        {
          ...(request.body.project ? { project: request.body.project } : {}),
          environment: request.body.environment,
          blueprintText: request.body.blueprint,
          file: request.body.file,
          sourceDir: request.body.sourceDir,
          retry: request.body.retry,
          ...(request.body.force ? { force: true } : {}),
          requester: { token: request.principal!.name, mayChooseSource: mayChooseHostPaths(request), authorizeProject: (project) => requireProject(request, project) },
        },
        request.principal!.name,
      );
      request.auditProject = r.project;
      requireProject(request, r.project);
      reply.status(202);
      return {
        project: r.project,
        environment: r.environment,
        generation: r.generation,
        services: [...r.services],
        warnings: r.warnings.map((w) => ({ ...w })),
        pending: r.pending ? pendingDeployOut(r.pending) : null,
      };
    },
  );

  app.get(
    "/v1/status",
    {
      config: { role: "viewer" },
      schema: {
        tags: ["projects"],
        response: {
          200: z.object({
            environments: z.array(StatusEnvironment),
            operations: z.array(Operation).describe("operations pending or running, and those finished in the last hour"),
            pendingDeploys: z.array(PendingDeploy).describe("deploys held for approval, and those decided or superseded in the last hour (issue 19)"),
            previews: z.array(Preview).describe("preview environments not destroyed, and those destroyed in the last hour (issue 19)"),
          }),
        },
      },
    },
    async (request) => {
      const visible = visibleProjects(request);
      const scope = visible ? { projects: visible } : {};
      const since = new Date(deps.clock.now() - 3_600_000).toISOString();
      const active = store.operations.list({ ...scope, states: ["pending", "running"], limit: 100 });
      const recent = store.operations.list({ ...scope, states: ["succeeded", "failed", "cancelled"], limit: 20 }).filter((o) => (o.finishedAt ?? "") >= since);
      const envs = store.environments.list().filter((e) => !visible || visible.includes(e.project));
      return {
        // An overview: a 5,000-service environment lists its 200 most interesting services (issue 15);
        // `GET /v1/projects/:p/environments/:e` has them all.
        environments: await Promise.all(envs.map(async (e) => ({ ...describe(e.id, STATUS_SERVICES), ...(await datastoresOf(e, store.environments.datastores(e.id), deps.resources)) }))),
        operations: [...active, ...recent].map(operationOut),
        pendingDeploys: store.pendingDeploys.list({ ...scope, since, limit: 100 }).map(pendingDeployOut),
        previews: store.previews
          .list(scope)
          .filter((p) => p.state !== "destroyed" || p.updatedAt >= since)
          .slice(0, 100)
          .map((p) => previewOut(p, previewUrls(deps, p))),
      };
    },
  );

  app.get(
    "/v1/projects/:project/environments/:environment",
    {
      config: { role: "viewer" },
      schema: {
        tags: ["projects"],
        description: "The environment with its services (failing ones first, then by name) and their instances. `limit`/`offset` page through a large one; `servicesTotal` counts them all.",
        params: EnvParams,
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(1000).optional().describe("at most this many services (default: all)"),
          offset: z.coerce.number().int().min(0).default(0).describe("skip this many services"),
        }),
        response: { 200: Environment },
      },
    },
    async (request) => describe(store.environments.require(request.params.project, request.params.environment).id, request.query.limit ?? -1, request.query.offset),
  );

  app.post(
    "/v1/projects/:project/environments/:environment/reconcile",
    { config: { role: "deployer" }, schema: { tags: ["projects"], params: EnvParams, response: { 202: z.object({ queued: z.boolean() }) } } },
    async (request, reply) => {
      const env = store.environments.require(request.params.project, request.params.environment);
      // An explicit request retries inputs whose last attempt failed.
      for (const s of store.services.list(env.id)) store.services.markFailed(s.id, null, new Date(deps.clock.now()).toISOString());
      deps.requestReconcile(env.id);
      reply.status(202);
      return { queued: true };
    },
  );

  app.delete(
    "/v1/projects/:project/environments/:environment",
    {
      config: { role: "deployer" },
      schema: {
        tags: ["projects"],
        description: "Stops every service of the environment and forgets it.",
        params: EnvParams,
        querystring: z.object({
          sourceDir: z.string().optional().describe("refuse (409 BERTH_PROJECT_DIR_CONFLICT) unless the project is deployed from this directory: `berth down` in a folder the project moved away from"),
        }),
        response: { 202: z.object({ queued: z.boolean() }) },
      },
    },
    async (request, reply) => {
      const env = store.environments.require(request.params.project, request.params.environment);
      if (request.query.sourceDir) assertSameDirectory(store, env.project, request.query.sourceDir);
      const now = new Date(deps.clock.now()).toISOString();
      store.db.tx(() => {
        store.services.replaceAll(env.id, [], now);
        store.environments.setStatus(env.id, "stopping", "stop requested", now);
      });
      deps.bus.emit({ type: "environment:removed", scope: { project: env.project, environment: env.name }, actor: request.principal!.name, data: { environment: env.name } });
      deps.requestReconcile(env.id);
      reply.status(202);
      return { queued: true };
    },
  );
};
