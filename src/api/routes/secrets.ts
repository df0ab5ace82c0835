import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { BerthError, toBerthError } from "../../core/errors.ts";
import { rotateDataKey, rotateKek } from "../../secrets/rotation.ts";
import type { SecretOwner } from "../../secrets/ports.ts";
import type { Secrets } from "../../secrets/setup.ts";
import { type EnvGraphShape, ownersIndex } from "../../reconcile/env-version.ts";
import type { ApiDeps } from "../types.ts";

const Owner = z
  .string()
  .regex(/^(service|group):[a-z][a-z0-9-]{0,62}$/, "service:<name> or group:<name>")
  .transform((s) => s as SecretOwner);
/** An environment name, or `*` for a default that applies to every environment. */
const EnvName = z.string().regex(/^(\*|[a-z][a-z0-9-]{0,62})$/, "an environment name or *");
const VarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "letters, digits and underscores, not starting with a digit");
const EnvParams = z.object({ project: z.string(), environment: EnvName });
const Listing = z.object({
  environment: z.string(),
  owner: z.string(),
  name: z.string(),
  source: z.enum(["set", "generated"]),
  keyId: z.string(),
  updatedAt: z.string(),
  updatedBy: z.string(),
});
const Changed = z.object({ environments: z.array(z.string()).describe("environments the change applies to; their services that read it roll") });
const Group = z.object({ name: z.string(), createdAt: z.string() });

/**
 * Secrets set through the API (values write-only: `list` shows names and where each comes from),
 * one value read (owner role, audited), env groups, and key rotations. Every change goes through
 * the SecretStore, whose `onChange` (wired in server.ts) re-masks output and rolls the services
 * the change reaches.
 */
export const secretRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const secrets = (): Secrets => {
    if (!deps.secrets) throw new BerthError("BERTH_INTERNAL", { detail: "the secret store is not configured" });
    return deps.secrets;
  };
  const project = (name: string) => {
    const p = deps.store.projects.byName(name);
    if (!p) throw new BerthError("BERTH_NOT_FOUND", { kind: "project", name });
    return { id: p.id, name: p.name };
  };
  /** Environments of the project a change at `environment` reaches (`*` = all of them). */
  const reached = (projectName: string, environment: string) =>
    deps.store.environments
      .list()
      .filter((e) => e.project === projectName && (environment === "*" || e.name === environment))
      .map((e) => e.name);

  /**
   * Of the environments a change reaches, those where a service reads `owner` (itself, a group it
   * attaches or reads from): they roll. A group only alert channels or log drains read rolls
   * nothing; those read the value at their next send.
   */
  const rolling = (projectName: string, environment: string, owner: string): string[] =>
    deps.store.environments
      .list()
      .filter((e) => e.project === projectName && (environment === "*" || e.name === environment))
      .filter((e) => {
        const bp = e.blueprint as EnvGraphShape | undefined;
        if (!bp || !Array.isArray(bp.services)) return false;
        const reaching = ownersIndex(bp);
        return bp.services.some((svc) => reaching(svc.name).has(owner));
      })
      .map((e) => e.name);

  /**
   * Names no environment's blueprint declares for `owner`: stored, but injected nowhere until
   * berth.yaml declares them (`NAME: { secret: true }`), because berth.yaml is the one list of
   * what a service receives.
   */
  const undeclared = (projectName: string, environment: string, owner: string, names: readonly string[]): string[] => {
    const [kind, ownerName] = owner.split(":") as [string, string];
    const envs = deps.store.environments.list().filter((e) => e.project === projectName && (environment === "*" || e.name === environment));
    if (envs.length === 0) return [];
    const declared = new Set<string>();
    for (const e of envs) {
      const bp = e.blueprint as { services?: { name: string; env?: object }[]; envGroups?: { name: string; env?: object }[] };
      const holder = kind === "service" ? bp.services?.find((x) => x.name === ownerName) : bp.envGroups?.find((x) => x.name === ownerName);
      for (const k of Object.keys(holder?.env ?? {})) declared.add(k);
    }
    return names.filter((n) => !declared.has(n));
  };

  app.get(
    "/v1/projects/:project/environments/:environment/secrets",
    {
      config: { role: "deployer" },
      schema: {
        tags: ["secrets"],
        description: "Names, sources and who set them: never values. `environment` also lists the `*` defaults.",
        params: EnvParams,
        querystring: z.object({ owner: Owner.optional() }),
        response: { 200: z.array(Listing) },
      },
    },
    async (request) => {
      const { environment } = request.params;
      const owner = request.query.owner;
      return secrets().store.list(project(request.params.project), { ...(environment === "*" ? {} : { environment }), ...(owner ? { owner } : {}) });
    },
  );

  app.put(
    "/v1/projects/:project/environments/:environment/secrets",
    {
      config: { role: "deployer" },
      schema: {
        tags: ["secrets"],
        description: "Sets (or replaces) values of one owner, encrypted. The services they reach roll.",
        params: EnvParams,
        body: z.strictObject({
          owner: Owner,
          values: z.record(VarName, z.string().max(64 * 1024)).refine((v) => Object.keys(v).length > 0, "at least one variable"),
        }),
        response: {
          200: Changed.extend({
            rolls: z.array(z.string()).describe("of `environments`, those where a service reads the owner and rolls; elsewhere nothing restarts (alert channels and log drains read the value at their next send)"),
            set: z.array(Listing),
            warnings: z.array(z.string()),
          }),
        },
      },
    },
    async (request) => {
      const p = project(request.params.project);
      const { store } = secrets();
      const actor = request.principal!.name;
      const set = deps.store.db.tx(() =>
        Object.entries(request.body.values).map(([name, value]) => store.set({ project: p, environment: request.params.environment, owner: request.body.owner, name }, value, actor)),
      );
      return {
        set: set.map(({ warning: _w, ...l }) => l),
        warnings: [
          ...set.flatMap((l) => (l.warning ? [l.warning] : [])),
          ...undeclared(p.name, request.params.environment, request.body.owner, Object.keys(request.body.values)).map(
            (n) => `${n} is not declared for ${request.body.owner} in berth.yaml: it is stored, but no service receives it until the blueprint declares it (${n}: { secret: true })`,
          ),
        ],
        environments: reached(p.name, request.params.environment),
        rolls: rolling(p.name, request.params.environment, request.body.owner),
      };
    },
  );

  app.delete(
    "/v1/projects/:project/environments/:environment/secrets/:owner/:name",
    {
      config: { role: "deployer" },
      schema: {
        tags: ["secrets"],
        params: EnvParams.extend({ owner: Owner, name: VarName }),
        response: { 200: Changed.extend({ removed: z.boolean() }) },
      },
    },
    async (request) => {
      const p = project(request.params.project);
      const removed = secrets().store.unset({ project: p, environment: request.params.environment, owner: request.params.owner, name: request.params.name }, request.principal!.name);
      return { removed, environments: removed ? reached(p.name, request.params.environment) : [] };
    },
  );

  app.get(
    "/v1/projects/:project/environments/:environment/secrets/:owner/:name",
    {
      config: { role: "owner", audit: true, revealsSecret: true },
      schema: {
        tags: ["secrets"],
        description: "One value, exactly as stored at this environment (no fallback to `*`). Owner role; audited.",
        params: EnvParams.extend({ owner: Owner, name: VarName }),
        response: { 200: z.object({ environment: z.string(), owner: z.string(), name: z.string(), value: z.string() }) },
      },
    },
    async (request, reply) => {
      const { environment, owner, name } = request.params;
      const scope = { project: request.params.project, ...(environment === "*" ? {} : { environment }) };
      const read = (result: "ok" | "failed") =>
        deps.bus.emit({ type: "secret:read", scope, actor: request.principal!.name, data: { environment, owner, name, address: request.ip, result } });
      let value: string;
      try {
        value = secrets().store.get({ project: project(request.params.project), environment, owner, name });
      } catch (e) {
        read("failed");
        throw toBerthError(e);
      }
      read("ok");
      reply.header("cache-control", "no-store");
      return { environment, owner, name, value };
    },
  );

  app.get(
    "/v1/projects/:project/env-groups",
    { config: { role: "deployer" }, schema: { tags: ["secrets"], params: z.object({ project: z.string() }), response: { 200: z.array(Group) } } },
    async (request) => secrets().store.listGroups(project(request.params.project)).map((g) => ({ name: g.name, createdAt: g.createdAt })),
  );

  app.post(
    "/v1/projects/:project/env-groups",
    {
      config: { role: "deployer" },
      schema: {
        tags: ["secrets"],
        params: z.object({ project: z.string() }),
        body: z.strictObject({ name: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, "lowercase letters, digits and dashes") }),
        response: { 201: Group },
      },
    },
    async (request, reply) => {
      const g = secrets().store.createGroup(project(request.params.project), request.body.name, request.principal!.name);
      reply.status(201);
      return { name: g.name, createdAt: g.createdAt };
    },
  );

  app.delete(
    "/v1/projects/:project/env-groups/:group",
    {
      config: { role: "deployer" },
      schema: {
        tags: ["secrets"],
        description: "Removes the group and every value stored for it; services attaching it roll.",
        params: z.object({ project: z.string(), group: z.string() }),
        response: { 200: Changed.extend({ removed: z.boolean() }) },
      },
    },
    async (request) => {
      const p = project(request.params.project);
      const removed = secrets().store.removeGroup(p, request.params.group, request.principal!.name);
      if (!removed) throw new BerthError("BERTH_NOT_FOUND", { kind: "env group", name: request.params.group });
      return { removed, environments: reached(p.name, "*") };
    },
  );

  app.post(
    "/v1/projects/:project/secrets/rotate",
    {
      config: { role: "owner" },
      schema: {
        tags: ["secrets"],
        description: "Starts a new data key for the project and re-encrypts its stored values under it. Nothing restarts.",
        params: z.object({ project: z.string() }),
        response: { 200: z.object({ fromVersion: z.number(), toVersion: z.number(), keyId: z.string(), reencrypted: z.number(), ms: z.number() }) },
      },
    },
    async (request) => {
      const s = secrets();
      return rotateDataKey({ keyring: s.keyring, store: s.store, events: deps.bus, clock: deps.clock }, project(request.params.project), request.principal!.name);
    },
  );

  app.post(
    "/v1/secrets/rotate-kek",
    {
      config: { role: "owner" },
      schema: {
        tags: ["secrets"],
        description: "Replaces the key-encryption key (file source) and re-wraps every data key. Running services are not touched.",
        response: { 200: z.object({ fromKekIds: z.array(z.string()), toKekId: z.string(), rewrapped: z.number() }) },
      },
    },
    async (request) => {
      const p = request.principal!;
      // The KEK wraps every project's keys: a token limited to some projects may not touch it.
      if (p.projects.length > 0) throw new BerthError("BERTH_FORBIDDEN", { token: p.name, role: p.role, action: "rotate the key-encryption key of every project", required: "owner of all projects" });
      const s = secrets();
      return rotateKek({ keyring: s.keyring, events: deps.bus }, s.kek, p.name);
    },
  );
};
