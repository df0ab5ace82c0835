/**
 * `berth db list|url|psql|backup|backups|restore|drill` and `berth kv info|cli` (issue 7),
 * all through the daemon's API. The resource is named by its blueprint name (`db`, `cache`);
 * when the environment has exactly one, the name may be left out. Long operations show
 * progress on stderr; every failure exits non-zero with the catalogue's code.
 */
import { resolve } from "node:path";
import type { Command } from "commander";
import { BerthError } from "../../core/errors.ts";
import type { ApiClient } from "../client.ts";
import type { CliContext } from "../context.ts";
import { outFor, printJson, progress, table } from "../output.ts";
import { lastSeq } from "../wait.ts";
import { psqlCommand, type ResourceUrl, redisCliCommand, runClient } from "./data-clients.ts";
import type { OperationOut } from "../operation-wait.ts";
import { runDataOperation, waitForSwitch } from "./data-progress.ts";
import { registerDbUpgrade } from "./data-upgrade.ts";
import { projectOf } from "./env.ts";

interface Where {
  project?: string;
  env: string;
  json?: boolean;
}

/** The API's shapes (src/api/routes/data.ts). */
interface DatabaseView {
  resource: string;
  database: string;
  user: string;
  port: number;
  pooledPort: number | null;
  running: boolean;
  version: number | null;
  archiveLagMs: number | null;
  archiving: string;
  lastGoodBackup: { id: string; at: string } | null;
  lastDrill: { at: string; ok: boolean } | null;
  restorableFrom: string | null;
  servers: { instance: string; role: string; running: boolean; port: number }[];
}
interface KeyValueView {
  resource: string;
  version: string;
  maxmemory: string | null;
  eviction: string | null;
  persistence: string;
}
interface BackupView {
  id: string;
  kind: string;
  startedAt: string;
  finishedAt: string;
  sizeBytes: number;
  verified: boolean;
  store?: string;
  failure?: string;
}
interface DrillView {
  id: string;
  at: string;
  target: string;
  backup: string;
  ok: boolean;
  rtoMs: number;
  rpoMs: number;
  tables: number;
  detail: string;
  logPath?: string;
}
interface RestoreView {
  restore: string;
  target: string;
  backup: string;
  port: number;
  dataDir: string;
  mode: "promote" | "keep";
  ms: number;
  rolling: string[];
}

const enc = encodeURIComponent;
const envPath = (o: Where) => `/v1/projects/${enc(projectOf(o))}/environments/${enc(o.env)}`;

/** `12 s`, `3 min`: an age for a table cell. */
function age(ms: number): string {
  return ms < 120_000 ? `${Math.round(ms / 1000)} s` : ms < 7_200_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 3_600_000)} h`;
}

function mb(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}

/** The named resource, or the environment's only one of that kind. */
async function resourceName(client: ApiClient, o: Where, kind: "db" | "kv", name: string | undefined): Promise<string> {
  if (name) return name;
  const all = await client.request<{ databases: DatabaseView[]; keyValues: KeyValueView[] }>("GET", `${envPath(o)}/databases`);
  const names = (kind === "db" ? all.databases : all.keyValues).map((r) => r.resource);
  if (names.length === 1) return names[0]!;
  const what = kind === "db" ? "database" : "key-value store";
  throw new BerthError("BERTH_USAGE", {
    detail: names.length === 0 ? `${projectOf(o)}/${o.env} declares no ${what}` : `which ${what}? ${projectOf(o)}/${o.env} has ${names.join(", ")}: name one`,
  });
}

/** Registers `berth db ...` and `berth kv ...`. */
export function registerDataCommands(program: Command, ctx: CliContext): void {
  const where = (c: Command) =>
    c.option("--project <name>", "project (default: from ./berth.yaml)").option("--env <name>", "environment", "production").option("--json", "machine-readable output");

  const db = program.command("db").description("managed PostgreSQL: connection, backups, point-in-time restores, restore drills");
  registerDbUpgrade(db, ctx); // issue 14

  where(db.command("list").description("the environment's databases and key-value stores")).action(async (opts: Where) => {
    const r = await ctx.client().request<{ databases: DatabaseView[]; keyValues: KeyValueView[] }>("GET", `${envPath(opts)}/databases`);
    if (opts.json) return printJson(r);
    if (r.databases.length === 0 && r.keyValues.length === 0) {
      process.stdout.write(`${projectOf(opts)}/${opts.env} declares no databases or key-value stores\n`);
      return;
    }
    const archive = (d: DatabaseView) => (d.archiving === "off" ? "off" : d.archiving === "failing" ? "FAILING" : d.archiveLagMs === null ? "?" : `${d.archiving === "behind" ? "BEHIND " : ""}${age(d.archiveLagMs)}`);
    const backup = (d: DatabaseView) => (d.lastGoodBackup ? `${d.lastGoodBackup.at.slice(0, 19)}Z` : "none");
    const rows = [
      ...r.databases.map((d) => [d.resource, `postgres ${d.version ?? "?"}`, d.database, d.user, d.running ? `127.0.0.1:${d.port}` : "-", d.pooledPort ? `pooled :${d.pooledPort}` : "", d.running ? "running" : "STOPPED", archive(d), backup(d)]),
      ...r.keyValues.map((k) => [k.resource, `redis ${k.version}`, "-", "default", "-", `${k.eviction ?? ""} ${k.persistence}`.trim(), "-", "-", "-"]),
    ];
    process.stdout.write(`${table([["NAME", "KIND", "DATABASE", "USER", "ADDRESS", "NOTES", "STATE", "ARCHIVE LAG", "LAST GOOD BACKUP"], ...rows])}\n`);
    const others = r.databases.flatMap((d) => d.servers.filter((s) => s.role !== "live").map((s) => [d.resource, s.instance, s.role, s.running ? `running :${s.port}` : "stopped, kept on disk"]));
    if (others.length > 0) process.stdout.write(`\n${table([["DATABASE", "SERVER", "ROLE", "STATE"], ...others])}\n(remove one with \`berth db discard <database> --server <server>\`)\n`);
  });

  where(db.command("url [name]").description("print the connection URL, password included (owner role; audited)"))
    .option("--pooled", "the PgBouncer URL (when the database is pooled)")
    .option("--scheme <scheme>", "postgresql or postgres", "postgresql")
    .action(async (name: string | undefined, opts: Where & { pooled?: boolean; scheme: string }) => {
      if (opts.scheme !== "postgres" && opts.scheme !== "postgresql") throw new BerthError("BERTH_USAGE", { detail: `--scheme: expected postgres or postgresql, got '${opts.scheme}'` });
      const client = ctx.client();
      const n = await resourceName(client, opts, "db", name);
      const r = await client.request<ResourceUrl>("GET", `${envPath(opts)}/databases/${enc(n)}/url`);
      if (opts.pooled && !r.pooledUrl) throw new BerthError("BERTH_USAGE", { detail: `${n} is not pooled: set \`pooled: true\` on it in berth.yaml` });
      const url = (opts.pooled ? r.pooledUrl! : r.url).replace(/^(postgres|postgresql):\/\//, `${opts.scheme}://`);
      if (opts.json) return printJson({ ...r, url });
      process.stdout.write(`${url}\n`);
    });

  where(db.command("psql [name] [args...]").description("open psql on the database (owner role); arguments after -- go to psql")).action(
    async (name: string | undefined, args: string[], opts: Where) => {
      const client = ctx.client();
      // \`berth db psql -- -c ...\`: no name, the first argument belongs to the client.
      const [named, extra] = name?.startsWith("-") ? [undefined, [name, ...args]] : [name, args];
      const n = await resourceName(client, opts, "db", named);
      const r = await client.request<ResourceUrl>("GET", `${envPath(opts)}/databases/${enc(n)}/url`);
      const { code } = await runClient(psqlCommand(r, extra));
      if (code !== 0) process.exitCode = code;
    },
  );

  where(db.command("backup [name]").description("take a verified base backup now (deployer role)"))
    .option("--dump", "a logical dump (pg_dump) of this database instead")
    .action(async (name: string | undefined, opts: Where & { dump?: boolean }) => {
      const client = ctx.client();
      const out = outFor(opts);
      const n = await resourceName(client, opts, "db", name);
      const p = progress(out);
      p.update(`${n}: backing up...`);
      const b = await runDataOperation<BackupView>(client, { project: projectOf(opts), environment: opts.env }, (l) => p.update(l), () =>
        client.request<OperationOut>("POST", `${envPath(opts)}/databases/${enc(n)}/backups`, { kind: opts.dump ? "dump" : "base" }),
      );
      if (opts.json) return printJson(b);
      p.done(`${n}: backup ${b.id} (${b.kind}, ${mb(b.sizeBytes)}, ${b.verified ? "verified" : "NOT verified"})`);
      process.stdout.write(`${b.id}\n`);
    });

  where(db.command("backups [name]").description("backups in the store, oldest first, and recent restore drills")).action(async (name: string | undefined, opts: Where) => {
    const client = ctx.client();
    const n = await resourceName(client, opts, "db", name);
    const r = await client.request<{ backups: BackupView[]; drills: DrillView[] }>("GET", `${envPath(opts)}/databases/${enc(n)}/backups`);
    if (opts.json) return printJson(r);
    if (r.backups.length === 0) process.stdout.write(`no backups of ${n} yet (take one with \`berth db backup ${n}\`)\n`);
    else process.stdout.write(`${table([["BACKUP", "KIND", "STARTED", "FINISHED", "SIZE", "VERIFIED"], ...r.backups.map((b) => [b.id, b.kind, b.startedAt, b.finishedAt, mb(b.sizeBytes), b.verified ? "yes" : `NO${b.failure ? `: ${b.failure.slice(0, 60)}` : ""}`])])}\n`);
    const drills = r.drills.slice(-5);
    if (drills.length > 0) {
      process.stdout.write(`\n${table([["DRILL", "AT", "RESULT", "RTO", "RPO", "DETAIL"], ...drills.map((d) => [d.id, d.at, d.ok ? "passed" : "FAILED", `${d.rtoMs} ms`, `${d.rpoMs} ms`, d.detail])])}\n`);
    }
  });

  where(db.command("restore [name]").description("restore into a new instance and promote it (owner role); --keep leaves it beside the live one"))
    .option("--to <target>", "an ISO time (2026-01-22T04:15:00Z), a backup id (b-...), point:<name> or latest")
    .option("--from-archive", "restore from the backup store alone (the live server or its data directory is lost); default target latest")
    .option("--keep", "do not promote: keep the restored instance running beside the live one for inspection")
    .option("--no-wait", "do not wait for the services to switch over")
    .action(async (name: string | undefined, opts: Where & { to?: string; fromArchive?: boolean; keep?: boolean; wait: boolean }) => {
      if (!opts.to && !opts.fromArchive) throw new BerthError("BERTH_USAGE", { detail: "say where to restore to: --to <time|backup|point:name|latest>, or --from-archive" });
      opts.to ??= "latest";
      const client = ctx.client();
      const out = outFor(opts);
      const n = await resourceName(client, opts, "db", name);
      const where = { project: projectOf(opts), environment: opts.env };
      const p = progress(out);
      const afterSeq = await lastSeq(client);
      p.update(`${n}: restoring to ${opts.to}...`);
      const r = await runDataOperation<RestoreView>(client, where, (l) => p.update(l), () =>
        client.request<OperationOut>("POST", `${envPath(opts)}/databases/${enc(n)}/restores`, { to: opts.to, keep: !!opts.keep, fromArchive: !!opts.fromArchive }),
      );
      if (r.mode === "promote" && opts.wait && r.rolling.length > 0) {
        p.update(`${n}: switching ${r.rolling.join(", ")} over (rolling restart)...`);
        await waitForSwitch(client, { ...where, resource: n, afterSeq }, r.rolling, (l) => p.update(l));
      }
      if (opts.json) return printJson(r);
      if (r.mode === "keep") {
        p.done(`${n}: restored ${opts.to} from ${r.backup} into ${r.restore}, running beside the live server on 127.0.0.1:${r.port} (${r.ms} ms)`);
      } else {
        const switched = r.rolling.length === 0 ? "no service uses it" : opts.wait ? `${r.rolling.join(", ")} switched over` : `${r.rolling.join(", ")} are rolling over`;
        p.done(`${n}: restored ${opts.to} from ${r.backup} and promoted (${r.restore}, port ${r.port}, ${r.ms} ms); ${switched}; the previous data directory is kept`);
      }
    });

  where(db.command("drill [name]").description("run a restore drill now: restore a recent point into a scratch instance and verify it (deployer role)")).action(
    async (name: string | undefined, opts: Where) => {
      const client = ctx.client();
      const out = outFor(opts);
      const n = await resourceName(client, opts, "db", name);
      const p = progress(out);
      p.update(`${n}: drill running...`);
      const d = await runDataOperation<DrillView>(client, { project: projectOf(opts), environment: opts.env }, (l) => p.update(l), () =>
        client.request<OperationOut>("POST", `${envPath(opts)}/databases/${enc(n)}/drills`, {}),
      );
      if (opts.json) return printJson(d);
      p.done(`${n}: drill ${d.id} passed: ${d.detail} (${d.target}, backup ${d.backup}), RTO ${d.rtoMs} ms, RPO ${d.rpoMs} ms`);
    },
  );

  where(db.command("recover [name]").description("disaster recovery: rebuild the database from a copy of its backups on this machine, then drill it (owner role)"))
    .requiredOption("--from <dir>", "a copy of Berth's backups directory (<data-dir>/backups) or one database's store, on the daemon's machine")
    .option("--replace", "set aside a server whose tables already hold rows (it is kept on disk)")
    .option("--no-wait", "do not wait for the services to switch over")
    .action(async (name: string | undefined, opts: Where & { from: string; replace?: boolean; wait: boolean }) => {
      const client = ctx.client();
      const out = outFor(opts);
      const n = await resourceName(client, opts, "db", name);
      const where = { project: projectOf(opts), environment: opts.env };
      const p = progress(out);
      const afterSeq = await lastSeq(client);
      p.update(`${n}: recovering from ${opts.from}...`);
      const r = await runDataOperation<{ restore: RestoreView; drill: DrillView; imported: string[] }>(client, where, (l) => p.update(l), () =>
        client.request<OperationOut>("POST", `${envPath(opts)}/databases/${enc(n)}/recover`, { from: resolve(opts.from), replace: !!opts.replace }),
      );
      if (opts.wait && r.restore.rolling.length > 0) {
        p.update(`${n}: switching ${r.restore.rolling.join(", ")} over (rolling restart)...`);
        await waitForSwitch(client, { ...where, resource: n, afterSeq }, r.restore.rolling, (l) => p.update(l));
      }
      if (opts.json) return printJson(r);
      p.done(`${n}: recovered from ${r.imported.length} imported store(s), backup ${r.restore.backup}, live on port ${r.restore.port}; drill passed: ${r.drill.detail}`);
    });

  where(db.command("discard [name]").description("stop and delete a server that is not live: a kept restore or a previous server (owner role); its backups stay"))
    .requiredOption("--server <instance>", "the server, as `berth db list` names it")
    .action(async (name: string | undefined, opts: Where & { server: string }) => {
      const client = ctx.client();
      const n = await resourceName(client, opts, "db", name);
      await runDataOperation(client, { project: projectOf(opts), environment: opts.env }, () => {}, () => client.request<OperationOut>("DELETE", `${envPath(opts)}/databases/${enc(n)}/servers/${enc(opts.server)}`));
      if (!opts.json) process.stdout.write(`${n}: server ${opts.server} stopped and deleted\n`);
    });

  const kv = program.command("kv").description("managed Redis: INFO and redis-cli");

  where(kv.command("info [name]").description("memory, eviction, persistence and server INFO")).action(async (name: string | undefined, opts: Where) => {
    const client = ctx.client();
    const n = await resourceName(client, opts, "kv", name);
    const r = await client.request<{ resource: string; info: Record<string, string> }>("GET", `${envPath(opts)}/key-values/${enc(n)}/info`);
    if (opts.json) return printJson(r);
    const i = r.info;
    const keys = ["redis_version", "uptime_in_seconds", "connected_clients", "used_memory_human", "maxmemory", "maxmemory-policy", "appendonly", "rdb_last_save_time", "rdb_last_bgsave_status", "aof_last_write_status", "evicted_keys", "keyspace_hits", "keyspace_misses"];
    process.stdout.write(`${table(keys.filter((k) => i[k] !== undefined).map((k) => [k, i[k]!]))}\n`);
  });

  where(kv.command("cli [name] [args...]").description("open redis-cli on the store (owner role); arguments after -- go to redis-cli")).action(
    async (name: string | undefined, args: string[], opts: Where) => {
      const client = ctx.client();
      // \`berth kv cli -- -c ...\`: no name, the first argument belongs to the client.
      const [named, extra] = name?.startsWith("-") ? [undefined, [name, ...args]] : [name, args];
      const n = await resourceName(client, opts, "kv", named);
      const r = await client.request<ResourceUrl>("GET", `${envPath(opts)}/key-values/${enc(n)}/url`);
      const { code } = await runClient(redisCliCommand(r, extra));
      if (code !== 0) process.exitCode = code;
    },
  );
}
