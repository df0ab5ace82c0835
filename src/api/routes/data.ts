import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Blueprint } from "../../blueprint/types.ts";
import { BerthError } from "../../core/errors.ts";
import { parseRestoreTarget } from "../../data/target.ts";
import { ownersReaching } from "../../reconcile/env-version.ts";
import type { EnvironmentRow } from "../../store/repositories/environments.ts";
import type { ApiDeps } from "../types.ts";

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
const Restore = z.object({
  restore: z.string(),
  target: z.string(),
  backup: z.string(),
  port: z.number(),
  dataDir: z.string(),
  mode: z.enum(["promote", "keep"]),
  ms: z.number(),
  rolling: z.array(z.string()).describe("services that roll onto the restored server (promote only)"),
});

/**
 * The data CLI's API (issue 7): `berth db list|url|backup|backups|restore|drill` and `berth kv
 * info|cli`. Long operations (backup, restore, drill, recover) emit `backup:*` / `restore:*` /
 * `drill:*` events the CLI shows as progress; the provider runs every operation on a server one
 * at a time (its lock), whoever asks: these routes, the upkeep beat or the reconciler's ensure.
 * Connection URLs carry the password: owner role, audited, never masked.
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

  /** After a promote: the services using the database roll onto it (env version), one by one. */
  const follow = async (env: EnvironmentRow, name: string, actor: string): Promise<string[]> => {
    await resources().refresh(env, { kind: "db", name, actor });
    const bp = blueprint(env);
    return bp.services.filter((s) => ownersReaching(bp, s.name).has(`group:resource-db-${name}`)).map((s) => s.name);
  };

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
        description: "Takes a verified base backup (or a logical dump with kind=dump) now.",
        params: DbParams,
        body: z.strictObject({ kind: z.enum(["base", "dump"]).default("base") }).optional(),
        response: { 201: Backup },
      },
    },
    async (request, reply) => {
      const env = envOf(request.params);
      declared(env, "db", request.params.name);
      const pg = (await resources().providers(env)).pg;
      const kind = request.body?.kind ?? "base";
      const { path: _p, ...b } = await (kind === "dump" ? pg.dump(request.params.name) : pg.backup(request.params.name));
      reply.status(201);
      return b;
    },
  );

  app.post(
    "/v1/projects/:project/environments/:environment/databases/:name/restores",
    {
      config: { role: "owner" },
      schema: {
        tags: ["data"],
        description:
          "Restores into a new instance: to a time, a backup id, `point:<name>` or `latest`. Without `keep` the new instance is promoted and the services using it roll onto it; the old server keeps serving the instances still on it, then stops, its directory kept. `fromArchive` restores from the backup store alone (the live server lost).",
        params: DbParams,
        body: z.strictObject({ to: z.string().min(1).default("latest"), keep: z.boolean().default(false), fromArchive: z.boolean().default(false) }),
        response: { 200: Restore },
      },
    },
    async (request) => {
      const env = envOf(request.params);
      const { name } = request.params;
      declared(env, "db", name);
      const target = parseRestoreTarget(request.body.to);
      const mode = request.body.keep ? "keep" : "promote";
      const pg = (await resources().providers(env)).pg;
      const r = await pg.restore(name, target, { mode, fromArchive: request.body.fromArchive });
      const rolling = mode === "promote" ? await follow(env, name, request.principal!.name) : [];
      return { restore: r.restore, target: request.body.to, backup: r.backup, port: r.port, dataDir: r.dataDir, mode: r.mode, ms: r.ms, rolling };
    },
  );

  app.post(
    "/v1/projects/:project/environments/:environment/databases/:name/drills",
    {
      config: { role: "deployer" },
      schema: {
        tags: ["data"],
        description: "Runs a restore drill now: a recent verification point restored into a scratch instance and compared. Fails loudly.",
        params: DbParams,
        response: { 201: Drill },
      },
    },
    async (request, reply) => {
      const env = envOf(request.params);
      declared(env, "db", request.params.name);
      const pg = (await resources().providers(env)).pg;
      const d = await pg.drill(request.params.name);
      reply.status(201);
      return d;
    },
  );

  app.post(
    "/v1/projects/:project/environments/:environment/databases/:name/recover",
    {
      config: { role: "owner" },
      schema: {
        tags: ["data"],
        description:
          "Disaster recovery: rebuilds the database from a copy of its backup stores (`from`, a directory on the daemon's machine) onto this environment's server: latest from the archive, promoted (the server it replaces is kept on disk), then drilled.",
        params: DbParams,
        body: z.strictObject({ from: z.string().min(1), replace: z.boolean().default(false).describe("set aside a server whose tables hold rows (kept on disk)") }),
        response: { 200: z.object({ restore: Restore, drill: Drill, imported: z.array(z.string()) }) },
      },
    },
    async (request) => {
      const env = envOf(request.params);
      const { name } = request.params;
      declared(env, "db", name);
      const r = await resources().recover(env, name, request.body.from, { replace: request.body.replace });
      const rolling = await follow(env, name, request.principal!.name);
      const restore = { restore: r.restore.restore, target: "latest", backup: r.restore.backup, port: r.restore.port, dataDir: r.restore.dataDir, mode: r.restore.mode, ms: r.restore.ms, rolling };
      return { restore, drill: r.drill, imported: r.imported };
    },
  );

  app.delete(
    "/v1/projects/:project/environments/:environment/databases/:name/servers/:instance",
    {
      config: { role: "owner" },
      schema: {
        tags: ["data"],
        description: "Stops and deletes a server that is not live: a kept restore, or a previous server a restore replaced. Its backups stay in the store.",
        params: DbParams.extend({ instance: z.string() }),
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      const env = envOf(request.params);
      declared(env, "db", request.params.name);
      const pg = (await resources().providers(env)).pg;
      const known = (await pg.list())[0]?.servers.find((s) => s.instance === request.params.instance);
      if (!known) throw new BerthError("BERTH_NOT_FOUND", { kind: "server", name: request.params.instance });
      await pg.discardRestore(request.params.instance);
      reply.status(204);
      return null;
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
