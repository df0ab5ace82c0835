/**
 * The datastores of an environment as `berth status` shows them: kind, version, state and
 * address. Never a password or a URL with one (those stay behind the owner-only `.../url`
 * routes). Cheap enough for a status call: no provider is started, and a stopped environment's
 * providers are not even loaded.
 */
import { z } from "zod";
import type { Blueprint } from "../../blueprint/types.ts";
import type { EnvironmentRow } from "../../store/repositories/environments.ts";
import type { ApiDeps } from "../types.ts";

export const Datastore = z.object({
  name: z.string(),
  kind: z.enum(["postgres", "redis"]),
  version: z.string(),
  state: z.enum(["running", "stopped", "unknown"]),
  /** `127.0.0.1:port` while running. */
  address: z.string().nullable(),
  /** PgBouncer's address when the database is pooled. */
  pooledAddress: z.string().nullable(),
  /** PostgreSQL: age of the oldest WAL not yet archived (the current RPO); null when unknown or off. */
  archiveLagMs: z.number().nullable().optional(),
  /** PostgreSQL: when the newest base backup still verified finished. */
  lastGoodBackupAt: z.string().nullable().optional(),
});
export type DatastoreView = z.infer<typeof Datastore>;

/**
 * Databases and key-value stores the environment declares (`declared`: a light read of its
 * blueprint, `EnvironmentRepository.datastores`), with what is known of each.
 */
export async function datastoresOf(env: EnvironmentRow, declared: { readonly databases: readonly unknown[]; readonly keyValues: readonly unknown[] }, resources: ApiDeps["resources"]): Promise<{ databases: DatastoreView[]; keyValues: DatastoreView[] }> {
  const bp = declared as Pick<Blueprint, "databases" | "keyValues">;
  const down = (name: string, kind: "postgres" | "redis", version: number, state: DatastoreView["state"]): DatastoreView => ({ name, kind, version: String(version), state, address: null, pooledAddress: null });
  const stopped = env.status === "stopped" || env.status === "stopping";
  if (stopped || !resources || (bp.databases.length === 0 && bp.keyValues.length === 0)) {
    const state = stopped ? "stopped" : "unknown";
    return { databases: bp.databases.map((d) => down(d.name, "postgres", d.version, state)), keyValues: bp.keyValues.map((k) => down(k.name, "redis", k.version, state)) };
  }
  const { pg, redis } = await resources.providers(env);
  const running = bp.databases.length > 0 ? await pg.list() : [];
  const databases = bp.databases.map((d): DatastoreView => {
    const s = running.find((r) => r.resource === d.name);
    if (!s) return down(d.name, "postgres", d.version, "stopped");
    return {
      name: d.name,
      kind: "postgres",
      version: String(s.version ?? d.version),
      state: s.running ? "running" : "stopped",
      address: s.running ? `127.0.0.1:${s.port}` : null,
      pooledAddress: s.running && s.pooledPort ? `127.0.0.1:${s.pooledPort}` : null,
      archiveLagMs: s.archiveLagMs ?? null,
      lastGoodBackupAt: s.lastGoodBackup?.at ?? null,
    };
  });
  const keyValues = await Promise.all(
    bp.keyValues.map(async (k): Promise<DatastoreView> => {
      try {
        const health = await redis.health(k.name);
        // Only host and port are kept: the connection's password is not asked for (empty).
        const { host, port } = await redis.connection(k.name, "");
        return { name: k.name, kind: "redis", version: String(k.version), state: health.running ? "running" : "stopped", address: health.running ? `${host}:${port}` : null, pooledAddress: null };
      } catch {
        return down(k.name, "redis", k.version, "stopped"); // not provisioned yet
      }
    }),
  );
  return { databases, keyValues };
}
