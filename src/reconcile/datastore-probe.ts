/**
 * The datastore probe for observability (issue 18): asks each running environment's managed
 * Postgres and Redis for a few numbers. Lives here because it needs both the data providers and
 * the store; `observe/metrics/datastores.ts` turns the numbers into metrics.
 */
import { redisClient } from "../core/redis-client.ts";
import pg from "pg";
import type { Blueprint } from "../blueprint/types.ts";
import type { DatastoreSample } from "../observe/metrics/datastores.ts";
import type { EnvironmentRow } from "../store/repositories/environments.ts";
import type { ResourceManager } from "./resources.ts";

export async function probeDatastores(envs: readonly EnvironmentRow[], resources: Pick<ResourceManager, "providers" | "password">, nowMs: number): Promise<DatastoreSample[]> {
  const out: DatastoreSample[] = [];
  for (const env of envs) {
    const bp = env.blueprint as Blueprint;
    if (bp.databases.length === 0 && bp.keyValues.length === 0) continue;
    const { pg: pgp, redis } = await resources.providers(env);
    const base = { project: env.project, environment: env.name };
    for (const d of bp.databases) {
      const values: Record<string, number> = {};
      try {
        const h = await pgp.health(d.name);
        values["pg.up"] = h.running ? 1 : 0;
        if (h.archiveAgeMs !== undefined) values["pg.archive_lag_seconds"] = h.archiveAgeMs / 1000;
        const last = (await pgp.backups(d.name)).map((b) => Date.parse(b.finishedAt)).sort((a, b) => b - a)[0];
        if (last !== undefined) values["pg.last_backup_age_seconds"] = (nowMs - last) / 1000;
        if (h.running) {
          const c = new pg.Client({ connectionString: (await pgp.connection(d.name, resources.password(env, "db", d.name) ?? "")).connectionString, connectionTimeoutMillis: 3000 });
          await c.connect();
          try {
            const r = await c.query("SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname IS NOT NULL) AS connections, pg_database_size(current_database()) AS size");
            values["pg.connections"] = Number(r.rows[0].connections);
            values["pg.size_bytes"] = Number(r.rows[0].size);
          } finally {
            await c.end();
          }
        }
      } catch {
        values["pg.up"] ??= 0;
      }
      out.push({ ...base, name: d.name, values });
    }
    for (const k of bp.keyValues) {
      const values: Record<string, number> = {};
      const c = await redisClient({ ...(await redis.connection(k.name, resources.password(env, "kv", k.name) ?? "").catch(() => ({ host: "127.0.0.1", port: 1, password: "" }))), connectTimeout: 3000 });
      try {
        await c.connect();
        const info = Object.fromEntries(
          (await c.info())
            .split("\r\n")
            .filter((l) => l.includes(":"))
            .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1)]),
        );
        values["redis.up"] = 1;
        for (const f of ["used_memory", "evicted_keys", "connected_clients", "maxmemory"]) if (info[f] !== undefined) values[`redis.${f}`] = Number(info[f]);
      } catch {
        values["redis.up"] = 0;
      } finally {
        c.disconnect();
      }
      out.push({ ...base, name: k.name, values });
    }
  }
  return out;
}
