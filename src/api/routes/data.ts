import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Blueprint } from "../../blueprint/types.ts";
import { BerthError } from "../../core/errors.ts";
import { parseRestoreTarget } from "../../data/target.ts";
import { DATA_OPERATIONS } from "../../reconcile/data-operations.ts";
import type { EnvironmentRow } from "../../store/repositories/environments.ts";
import type { ApiDeps } from "../types.ts";
import { Operation, operationOut } from "./operations.ts";

const EnvParams = z.object({ project: z.string(), environment: z.string() });
const DbParams = EnvParams.extend({ name: z.string() });

const Server = z.object({ instance: z.string(), role: z.enum(["live", "retiring", "kept", "previous"]), running: z.boolean(), port: z.number() });
const Database = z.object({
  resource: z.string(),
  database: z.string(),
  user: z.string(),
  port: z.number(),
  pooledPort: z.number().nullable(),
  running: z.boolean(),
  version: z.number().nullable(),
  archiveLagMs: z.number().nullable().describe("age of the oldest WAL not yet archived: the current RPO"),
  archiving: z.enum(["ok", "failing", "behind", "off", "unknown"]),
  lastGoodBackup: z.object({ id: z.string(), at: z.string() }).nullable(),
  lastDrill: z.object({ at: z.string(), ok: z.boolean() }).nullable(),
  restorableFrom: z.string().nullable().describe("the earliest time a restore can reach"),
  servers: z.array(Server).describe("the live server, servers still serving old instances after a restore, kept restores, previous servers kept on disk"),
});
const KeyValue = z.object({ resource: z.string(), version: z.string(), maxmemory: z.string().nullable(), eviction: z.string().nullable(), persistence: z.string() });
const Backup = z.object({
  id: z.string(),
  kind: z.enum(["base", "dump", "rdb"]),
  resource: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  sizeBytes: z.number(),
  verified: z.boolean(),
  startWal: z.string().optional(),
  store: z.string().optional().describe("the server whose store holds it"),
  failure: z.string().optional().describe("why a backup is no longer verified"),
  pitr: z.boolean().optional().describe("false: taken while the WAL archive was off; restores only as itself"),
});
const Drill = z.object({
  id: z.string(),
  at: z.string(),
  target: z.string(),
  backup: z.string(),
  ok: z.boolean(),
  rtoMs: z.number(),
  rpoMs: z.number(),
  tables: z.number(),
  detail: z.string(),
  walChecked: z.object({ first: z.string(), last: z.string(), segments: z.number() }).optional(),
  logPath: z.string().optional().describe("the scratch server's log of a failed drill"),
});
const Url = z.object({ resource: z.string(), url: z.string(), host: z.string(), port: z.number(), user: z.string(), database: z.string().nullable(), pooledUrl: z.string().nullable() });

/**
 * The data CLI's API (issue 7): `berth db list|url|backup|backups|restore|drill` and `berth kv
 * info|cli`. Long work (backup, restore, drill, recover, discard) is recorded as an operation
 * (data-operations.ts) and answered 202: the runner carries it out, one at a time per server,
 * queued with the upkeep beat and the reconciler's provisioning; the CLI follows the operation
 * and the `backup:*` / `restore:*` / `drill:*` events. Connection URLs carry the password: owner
 * role, audited, never masked.
 */
export const dataRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const resources = () => {
    if (!deps.resources) throw new BerthError("BERTH_INTERNAL", { detail: "managed resources are not configured in this daemon" });
    return deps.resources;
  };
  const envOf = (p: { project: string; environment: string }) => deps.store.environments.require(p.project, p.environment);
  const blueprint = (env: EnvironmentRow) => env.blueprint as Blueprint;
  const declared = (env: EnvironmentRow, kind: "db" | "kv", name: string) => {
    const bp = blueprint(env);
    const list = kind === "db" ? bp.databases : bp.keyValues;
    const r = list.find((x) => x.name === name);
    if (!r) {
      const names = list.map((x) => x.name).join(", ") || "none";
      throw new BerthError("BERTH_NOT_FOUND", { kind: `${kind === "db" ? "database" : "key-value store"} (declared in ${env.project}/${env.name}: ${names})`, name });
    }
    return r;
  };
  const passwordOf = (env: EnvironmentRow, kind: "db" | "kv", name: string) => {
    const pw = resources().password(env, kind, name);
    if (!pw) throw new BerthError("BERTH_DATA_NOT_RUNNING", { kind: kind === "db" ? "postgres" : "redis", name });
    return pw;
  };

  /** Records a data operation (issue 16 on issue 15's runner) and answers 202 with it: nothing runs in the request. */
  const record = (kind: string, params: Record<string, unknown>, actor: string) => {
    if (!deps.operations) throw new BerthError("BERTH_INTERNAL", { detail: "operations are not configured in this daemon" });
    return operationOut(deps.operations.enqueue(kind, params, { actor }));
  };
  const accepted = { 202: Operation };

  app.get(
    "/v1/projects/:project/environments/:environment/databases",
    {
      config: { role: "viewer" },
      schema: { tags: ["data"], description: "Managed PostgreSQL databases and Redis stores of the environment.", params: EnvParams, response: { 200: z.object({ databases: z.array(Database), keyValues: z.array(KeyValue) }) } },
    },
    async (request) => {
      const env = envOf(request.params);
      const bp = blueprint(env);
      const running = bp.databases.length > 0 ? await (await resources().providers(env)).pg.list() : [];
      const databases = bp.databases.map((d) => {
        const s = running.find((r) => r.resource === d.name);
        return {
          resource: d.name,
          database: s?.database ?? d.databaseName,
          user: s?.user ?? d.user,
          port: s?.port ?? 0,
          pooledPort: s?.pooledPort ?? null,
          running: s?.running ?? false,
          version: s?.version ?? null,
          archiveLagMs: s?.archiveLagMs ?? null,
          archiving: s?.archiving ?? ("unknown" as const),
          lastGoodBackup: s?.lastGoodBackup ?? null,
          lastDrill: s?.lastDrill ?? null,
          restorableFrom: s?.restorableFrom ?? null,
          servers: [...(s?.servers ?? [])],
        };
      });
      const keyValues = bp.keyValues.map((k) => ({ resource: k.name, version: String(k.version), maxmemory: k.maxmemoryBytes ? String(k.maxmemoryBytes) : null, eviction: k.eviction, persistence: k.persistence }));
      return { databases, keyValues };
    },
  );

  app.get(
    "/v1/projects/:project/environments/:environment/databases/:name/url",
    {
      config: { role: "owner", audit: true, revealsSecret: true },
      schema: { tags: ["data"], description: "The connection URL, password included. Owner role; audited.", params: DbParams, response: { 200: Url } },
    },
    async (request, reply) => {
      const env = envOf(request.params);
      declared(env, "db", request.params.name);
      const c = await (await resources().providers(env)).pg.connection(request.params.name, passwordOf(env, "db", request.params.name));
      reply.header("cache-control", "no-store");
      return { resource: request.params.name, url: c.connectionString, host: c.host, port: c.port, user: c.user, database: c.database ?? null, pooledUrl: c.pooledConnectionString ?? null };
    },
  );

  app.get(
    "/v1/projects/:project/environments/:environment/databases/:name/backups",
    { config: { role: "viewer" }, schema: { tags: ["data"], params: DbParams, response: { 200: z.object({ backups: z.array(Backup), drills: z.array(Drill) }) } } },
    async (request) => {
      const env = envOf(request.params);
      declared(env, "db", request.params.name);
      const pg = (await resources().providers(env)).pg;
      const strip = ({ path: _p, ...b }: { path: string } & z.infer<typeof Backup>) => b;
      return { backups: (await pg.backups(request.params.name)).map(strip), drills: await pg.drills(request.params.name) };
    },
  );

  app.post(
    "/v1/projects/:project/environments/:environment/databases/:name/backups",
    {
      config: { role: "deployer" },
      schema: {
        tags: ["data"],
        description: "Records a `db-backup` operation: a verified base backup (or a logical dump with kind=dump). Answers 202 with the operation; its result is the backup.",
        params: DbParams,
        body: z.strictObject({ kind: z.enum(["base", "dump"]).default("base") }).optional(),
        response: accepted,
      },
    },
    async (request, reply) => {
      const env = envOf(request.params);
      declared(env, "db", request.params.name);
      reply.status(202);
      return record(DATA_OPERATIONS.backup, { project: env.project, environment: env.name, database: request.params.name, kind: request.body?.kind ?? "base" }, request.principal!.name);
    },
  );

  app.post(
    "/v1/projects/:project/environments/:environment/databases/:name/restores",
    {
      config: { role: "owner" },
      schema: {
        tags: ["data"],
        description:
          "Records a `db-restore` operation: into a new instance, to a time, a backup id, `point:<name>` or `latest`. Without `keep` the new instance is promoted and the services using it roll onto it; the old server keeps serving the instances still on it, then stops, its directory kept. `fromArchive` restores from the backup store alone (the live server lost). Answers 202; the result lists the services that roll.",
        params: DbParams,
        body: z.strictObject({ to: z.string().min(1).default("latest"), keep: z.boolean().default(false), fromArchive: z.boolean().default(false) }),
        response: accepted,
      },
    },
    async (request, reply) => {
      const env = envOf(request.params);
      const { name } = request.params;
      declared(env, "db", name);
      parseRestoreTarget(request.body.to); // a bad target is a 400 here, not a failed operation
      reply.status(202);
      return record(DATA_OPERATIONS.restore, { project: env.project, environment: env.name, database: name, to: request.body.to, keep: request.body.keep, fromArchive: request.body.fromArchive }, request.principal!.name);
    },
  );

  app.post(
    "/v1/projects/:project/environments/:environment/databases/:name/drills",
    {
      config: { role: "deployer" },
      schema: {
        tags: ["data"],
        description: "Records a `db-drill` operation: the WAL chain checked, a point recorded now restored into a scratch instance and compared. Answers 202; a failed drill fails the operation.",
        params: DbParams,
        response: accepted,
      },
    },
    async (request, reply) => {
      const env = envOf(request.params);
      declared(env, "db", request.params.name);
      reply.status(202);
      return record(DATA_OPERATIONS.drill, { project: env.project, environment: env.name, database: request.params.name }, request.principal!.name);
    },
  );

  app.post(
    "/v1/projects/:project/environments/:environment/databases/:name/recover",
    {
      config: { role: "owner" },
      schema: {
        tags: ["data"],
        description:
          "Records a `db-recover` operation (disaster recovery): rebuilds the database from a copy of its backup stores (`from`, a directory on the daemon's machine): latest from the archive, promoted (the server it replaces is kept on disk), then drilled.",
        params: DbParams,
        body: z.strictObject({ from: z.string().min(1), replace: z.boolean().default(false).describe("set aside a server whose tables hold rows (kept on disk)") }),
        response: accepted,
      },
    },
    async (request, reply) => {
      const env = envOf(request.params);
      declared(env, "db", request.params.name);
      reply.status(202);
      return record(DATA_OPERATIONS.recover, { project: env.project, environment: env.name, database: request.params.name, from: request.body.from, replace: request.body.replace }, request.principal!.name);
    },
  );

  app.delete(
    "/v1/projects/:project/environments/:environment/databases/:name/servers/:instance",
    {
      config: { role: "owner" },
      schema: {
        tags: ["data"],
        description: "Records a `db-discard` operation: stops and deletes a server that is not live (a kept restore, or a previous server a restore replaced). Its backups stay in the store.",
        params: DbParams.extend({ instance: z.string() }),
        response: accepted,
      },
    },
    async (request, reply) => {
      const env = envOf(request.params);
      declared(env, "db", request.params.name);
      reply.status(202);
      return record(DATA_OPERATIONS.discard, { project: env.project, environment: env.name, database: request.params.name, server: request.params.instance }, request.principal!.name);
    },
  );

  app.get(
    "/v1/projects/:project/environments/:environment/key-values/:name/info",
    {
      config: { role: "viewer" },
      schema: { tags: ["data"], description: "Redis INFO plus the effective maxmemory, eviction policy and AOF setting.", params: DbParams, response: { 200: z.object({ resource: z.string(), info: z.record(z.string(), z.string()) }) } },
    },
    async (request) => {
      const env = envOf(request.params);
      declared(env, "kv", request.params.name);
      const info = await (await resources().providers(env)).redis.info(request.params.name, passwordOf(env, "kv", request.params.name));
      return { resource: request.params.name, info };
    },
  );

  app.get(
    "/v1/projects/:project/environments/:environment/key-values/:name/url",
    {
      config: { role: "owner", audit: true, revealsSecret: true },
      schema: { tags: ["data"], description: "The Redis URL, password included. Owner role; audited.", params: DbParams, response: { 200: Url } },
    },
    async (request, reply) => {
      const env = envOf(request.params);
      declared(env, "kv", request.params.name);
      const c = await (await resources().providers(env)).redis.connection(request.params.name, passwordOf(env, "kv", request.params.name));
      reply.header("cache-control", "no-store");
      return { resource: request.params.name, url: c.connectionString, host: c.host, port: c.port, user: c.user, database: null, pooledUrl: null };
    },
  );
};
