/**
 * Managed resources of environments: one PostgreSQL and one Redis provider per environment,
 * provisioned from the blueprint before any release of that environment is cut, so services'
 * `fromDatabase` / `fromKeyValue` references resolve. Generated passwords are kept in the secret
 * store (owner `group:resource-<kind>-<name>`), never in plain files or events. Provisioning is
 * idempotent: a provider adopts the servers a previous daemon left running.
 */
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { BerthError, reviveError } from "../core/errors.ts";
import type { Blueprint } from "../blueprint/types.ts";
import type { EventSink } from "../core/events.ts";
import type { PostgresProvider } from "../data/postgres/provider.ts";
import type { PostgresInput } from "../data/postgres/input.ts";
import type { PgToolCache } from "../data/postgres/distribution.ts";
import { readState } from "../data/postgres/state.ts";
import type { ConnectionProps } from "../data/provider.ts";
import type { RedisProvider } from "../data/redis/provider.ts";
import type { SecretOwner } from "../secrets/ports.ts";
import type { Secrets } from "../secrets/setup.ts";
import type { AvailableValues } from "../secrets/sources.ts";
import type { EnvironmentRow } from "../store/repositories/environments.ts";
import type { Store } from "../store/store.ts";
import { DATA_OPERATIONS } from "./data-operations.ts";
import type { OperationRunner } from "./operations.ts";

type Props = Readonly<Record<string, string>>;

export interface ResourceManagerDeps {
  readonly dataDir: string;
  readonly store: Store;
  readonly secrets: Secrets;
  readonly events: EventSink;
  /** The daemon's tool cache, for PostgreSQL majors the distribution lacks (data/postgres/distribution.ts). */
  readonly postgresTools?: PgToolCache;
  /** Called with resolved values that hold secrets (passwords inside URLs) for redaction. */
  readonly onSensitive?: (values: readonly { name: string; value: string }[]) => void;
}

interface Providers {
  readonly pg: PostgresProvider;
  readonly redis: RedisProvider;
}

/** Connection properties as env references read them (`db.connectionString`, `cache.url`). */
export function referenceProps(c: ConnectionProps, kind: "database" | "keyValue"): Props {
  const hostport = `${c.host}:${c.port}`;
  const base: Record<string, string> = { host: c.host, port: String(c.port), hostport, password: c.password, connectionString: c.connectionString };
  if (kind === "keyValue") return { ...base, url: c.connectionString };
  return {
    ...base,
    user: c.user,
    database: c.database ?? "",
    ...(c.pooledConnectionString ? { pooledConnectionString: c.pooledConnectionString } : {}),
  };
}

/**
 * As root, database servers run as their own users: every parent of the data dir must let
 * others traverse it, or initdb fails with a bare "Permission denied". Say so up front instead.
 */
function assertTraversable(dataDir: string): void {
  if (process.getuid?.() !== 0) return;
  for (let dir = dirname(dataDir); dir !== dirname(dir); dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) {
      throw new BerthError("BERTH_CONFIG_INVALID", {
        field: "data-dir",
        detail: `managed databases run as their own users and cannot enter ${dir} (no search permission for others); use a data dir such as /var/lib/berth, or run chmod o+x ${dir}`,
      });
    }
  }
}

/**
 * The providers' events, scoped to their project and environment (a project-scoped token sees
 * only its own data events): providers know an environment only as `project/environment`.
 */
function scopedTo(events: EventSink, env: EnvironmentRow): EventSink {
  return {
    emit: (event) => events.emit({ ...event, scope: { ...event.scope, project: env.project, environment: env.name } }),
  };
}

export class ResourceManager {
  readonly #d: ResourceManagerDeps;
  readonly #providers = new Map<string, Providers>();
  #ops: Pick<OperationRunner, "enqueue" | "wait"> | undefined;
  /** Environments whose resources this daemon has ensured at least once. */
  readonly #provisioned = new Set<string>();

  constructor(deps: ResourceManagerDeps) {
    this.#d = deps;
  }

  /** Providers (and their database clients) load on first use: a daemon without data stays small. */
  async #providersFor(env: EnvironmentRow): Promise<Providers> {
    let p = this.#providers.get(env.id);
    if (!p) {
      const [{ PostgresProvider }, { RedisProvider }] = await Promise.all([import("../data/postgres/provider.ts"), import("../data/redis/provider.ts")]);
      assertTraversable(this.#d.dataDir);
      const root = join(this.#d.dataDir, "resources", env.project, env.name);
      // Servers run as the postgres/redis users: every parent must be traversable (not listable).
      for (const d of [join(this.#d.dataDir, "resources"), join(this.#d.dataDir, "resources", env.project), root, join(this.#d.dataDir, "backups"), join(this.#d.dataDir, "backups", env.project), join(this.#d.dataDir, "backups", env.project, env.name)]) {
        mkdirSync(d, { recursive: true, mode: 0o711 });
        chmodSync(d, 0o711);
      }
      const common = { environment: `${env.project}/${env.name}`, events: scopedTo(this.#d.events, env) };
      p = {
        pg: new PostgresProvider({ ...common, rootDir: join(root, "postgres"), storeDir: join(this.#d.dataDir, "backups", env.project, env.name, "postgres"), ...(this.#d.postgresTools ? { tools: this.#d.postgresTools } : {}) }),
        redis: new RedisProvider({ ...common, rootDir: join(root, "redis"), storeDir: join(this.#d.dataDir, "backups", env.project, env.name, "redis") }),
      };
      this.#providers.set(env.id, p);
    }
    return p;
  }

  #password(env: EnvironmentRow, owner: SecretOwner): string | undefined {
    const project = this.#d.store.projects.byId(env.projectId)!;
    return this.#d.secrets.store.openAll({ id: project.id, name: project.name }, env.name)[owner]?.PASSWORD;
  }

  #savePassword(env: EnvironmentRow, owner: SecretOwner, password: string): void {
    const project = this.#d.store.projects.byId(env.projectId)!;
    this.#d.secrets.store.set({ project: { id: project.id, name: project.name }, environment: env.name, owner, name: "PASSWORD" }, password, "system", "generated");
  }

  /** What the provider gets for a blueprint database: its backup settings honoured as written. */
  static postgresInput(db: Blueprint["databases"][number]): PostgresInput {
    return {
      name: db.name,
      version: db.version,
      databaseName: db.databaseName,
      user: db.user,
      backups: db.backups ? { keep: db.backups.keep, schedule: db.backups.schedule } : false,
      pitr: db.pitrWindowMs !== undefined,
      ...(db.pitrWindowMs ? { pitrWindowMs: db.pitrWindowMs } : {}),
      pooled: db.pooled,
    };
  }

  /**
   * Data work goes through recorded operations (data-operations.ts) once the daemon hands its
   * runner over: provisioning then queues behind a restore or a backup of the same server
   * instead of running beside it.
   */
  useOperations(runner: Pick<OperationRunner, "enqueue" | "wait">): void {
    this.#ops = runner;
  }

  /**
   * Provisions every database and key-value store the environment declares, as a `db-ensure`
   * operation when operations are in use (one pending request is shared), and waits for it.
   */
  async ensure(env: EnvironmentRow, signal?: AbortSignal): Promise<void> {
    const bp = env.blueprint as Blueprint;
    if (!this.#ops || (bp.databases.length === 0 && bp.keyValues.length === 0)) return this.ensureNow(env, signal);
    const op = this.#ops.enqueue(DATA_OPERATIONS.ensure, { project: env.project, environment: env.name }, { actor: "system", dedupe: "pending" });
    const aborted = new Promise<never>((_, reject) => {
      if (signal?.aborted) reject(signal.reason);
      signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
    const row = await Promise.race([this.#ops.wait(op.id), aborted]);
    if (row.state !== "succeeded") {
      const e = row.error;
      throw (e && reviveError(e)) ?? new BerthError("BERTH_INTERNAL", { detail: `provisioning ended ${row.state}` });
    }
  }

  /**
   * Provisions now (inside an operation, or without a runner). Idempotent and quiet: the
   * providers change only what differs (no restart, no ALTER on an unchanged reconcile). Each
   * resource is ensured even when another fails; the first failure is thrown.
   */
  async ensureNow(env: EnvironmentRow, signal?: AbortSignal): Promise<void> {
    const bp = env.blueprint as Blueprint;
    if (bp.databases.length === 0 && bp.keyValues.length === 0) {
      this.#provisioned.add(env.id);
      return;
    }
    const { pg, redis } = await this.#providersFor(env);
    const failures: unknown[] = [];
    const sensitive: { name: string; value: string }[] = [];
    for (const db of bp.databases) {
      const owner: SecretOwner = `group:resource-db-${db.name}`;
      const password = this.#password(env, owner);
      try {
        const r = await pg.provision(ResourceManager.postgresInput(db), { ...(password ? { password } : {}), ...(signal ? { signal } : {}) });
        if (r.passwordGenerated) this.#savePassword(env, owner, r.connection.password);
        sensitive.push({ name: `${db.name}.connectionString`, value: r.connection.connectionString });
        if (r.connection.pooledConnectionString) sensitive.push({ name: `${db.name}.pooledConnectionString`, value: r.connection.pooledConnectionString });
      } catch (e) {
        failures.push(e);
      }
    }
    for (const kv of bp.keyValues) {
      const owner: SecretOwner = `group:resource-kv-${kv.name}`;
      const password = this.#password(env, owner);
      try {
        const r = await redis.provision(
          { name: kv.name, version: kv.version, ...(kv.maxmemoryBytes ? { maxmemoryBytes: kv.maxmemoryBytes } : {}), eviction: kv.eviction as never, persistence: kv.persistence },
          { ...(password ? { password } : {}), ...(signal ? { signal } : {}) },
        );
        if (r.passwordGenerated) this.#savePassword(env, owner, r.connection.password);
        sensitive.push({ name: `${kv.name}.url`, value: r.connection.connectionString });
      } catch (e) {
        failures.push(e);
      }
    }
    this.#d.onSensitive?.(sensitive);
    if (failures.length > 0) throw failures[0];
    this.#provisioned.add(env.id);
  }

  /**
   * Before a data operation: the environment's servers as this daemon knows them. After a daemon
   * restart nothing is provisioned yet (a restore resumed first in the queue would find no live
   * server), so the first operation provisions — which adopts the servers left running. A
   * failure there (a lost data directory: an alert already) does not stop the operation: a
   * restore from the archive is the way back from exactly that.
   */
  async ready(env: EnvironmentRow, signal?: AbortSignal): Promise<void> {
    if (!this.#provisioned.has(env.id)) await this.ensureNow(env, signal).catch(() => {});
  }

  /**
   * Values for env resolution, read from the providers at this moment (the live server's port
   * now), never from a copy taken by an earlier ensure(): a release cut right after a promote
   * gets the new server even if a resync's ensure() was running at the time.
   */
  async values(env: EnvironmentRow): Promise<Omit<AvailableValues, "secrets">> {
    if (!this.#provisioned.has(env.id)) await this.ensure(env);
    const bp = env.blueprint as Blueprint;
    const databases: Record<string, Props> = {};
    const keyValues: Record<string, Props> = {};
    if (bp.databases.length > 0 || bp.keyValues.length > 0) {
      const { pg, redis } = await this.#providersFor(env);
      for (const db of bp.databases) {
        const pw = this.#password(env, `group:resource-db-${db.name}`);
        if (pw) databases[db.name] = referenceProps(await pg.connection(db.name, pw), "database");
      }
      for (const kv of bp.keyValues) {
        const pw = this.#password(env, `group:resource-kv-${kv.name}`);
        if (pw) keyValues[kv.name] = referenceProps(await redis.connection(kv.name, pw), "keyValue");
      }
    }
    return { databases, keyValues, services: {} };
  }

  /** The PostgreSQL major an environment's server runs, once created (read from its state, no server needed). */
  postgresMajor(project: string, environment: string): number | undefined {
    return readState(join(this.#d.dataDir, "resources", project, environment, "postgres")).major;
  }

  /** The providers of an environment, for the data CLI/API (backups, restore, drills). */
  providers(env: EnvironmentRow): Promise<Providers> {
    return this.#providersFor(env);
  }

  /** The stored password of a resource (`kind` db|kv), for the data API (URLs, Redis INFO). */
  password(env: EnvironmentRow, kind: "db" | "kv", name: string): string | undefined {
    return this.#password(env, `group:resource-${kind}-${name}`);
  }

  /**
   * After a resource's server changed under the environment (a promoted restore): records the
   * switch as variable SERVER of the resource's secret owner, set by `actor`. That row is part of
   * the env version of every service referencing the resource (env-version.ts), so the secret
   * store's onChange re-records their digests and requests a reconcile: new releases are cut with
   * the new URL (values() reads it now) and rolled through the health gate one by one. The
   * environment is `degraded` until that reconcile settles it. The value stands for the new
   * server (`change.server`), hashed: every stored value is masked in output.
   */
  async refresh(env: EnvironmentRow, change?: { readonly kind: "db" | "kv"; readonly name: string; readonly actor: string; readonly server: string }): Promise<void> {
    if (!change) return;
    const project = this.#d.store.projects.byId(env.projectId)!;
    this.#d.store.environments.setStatus(env.id, "degraded", `services are moving to the restored ${change.kind === "db" ? "database" : "key-value store"} ${change.name}`, new Date().toISOString());
    const owner: SecretOwner = `group:resource-${change.kind}-${change.name}`;
    // Derived from the server's id, so recording the same switch again (a resumed operation)
    // changes nothing and rolls nothing twice; hashed, so the id itself stays readable in output.
    const value = createHash("sha256").update(`${env.id}/${change.server}`).digest("hex").slice(0, 32);
    this.#d.secrets.store.set({ project: { id: project.id, name: project.name }, environment: env.name, owner, name: "SERVER" }, value, change.actor);
  }

  /**
   * Disaster recovery of one database from a copy of its backup stores (`from`: Berth's backups
   * directory or a store). The database is declared first (a server that cannot start — its data
   * lost — does not stop that), then rebuilt, promoted and drilled; services follow through refresh().
   */
  async recover(env: EnvironmentRow, name: string, from: string, opts: { readonly replace?: boolean; readonly id?: string } = {}): Promise<Awaited<ReturnType<PostgresProvider["recover"]>>> {
    await this.ensureNow(env).catch(() => {});
    const { pg } = await this.#providersFor(env);
    const r = await pg.recover(name, from, { project: env.project, environment: env.name }, opts);
    await this.ensureNow(env); // this machine's password for the role the backups brought back
    return r;
  }

  /** Runs due data duties (archive check, backups, prune, verification points, drills). */
  async tick(): Promise<void> {
    for (const env of this.#d.store.environments.list()) {
      // Only the datastores: the whole blueprint of a 5,000-service environment is ~3 MB (issue 15).
      const bp = this.#d.store.environments.datastores(env.id) as Pick<Blueprint, "databases">;
      if (bp.databases.length === 0 || env.status === "stopped" || env.status === "stopping") continue;
      try {
        if (this.#ops) {
          // Recorded, and queued behind whatever else runs on the server; one pending is enough.
          this.#ops.enqueue(DATA_OPERATIONS.upkeep, { project: env.project, environment: env.name }, { actor: "system", dedupe: "pending" });
          continue;
        }
        const { pg } = await this.#providersFor(env);
        for (const db of bp.databases) await pg.tick(db.name);
      } catch {
        // Failures are loud inside the provider (events); the beat must never crash the daemon.
      }
    }
  }

  /** Stops one environment's servers (data and backups stay on disk), e.g. after `berth down`. */
  async stopEnvironment(env: EnvironmentRow): Promise<void> {
    const p = this.#providers.get(env.id);
    if (!p) return;
    await p.pg.stop();
    await p.redis.stop();
    this.#providers.delete(env.id);
    this.#provisioned.delete(env.id);
  }

  /**
   * Issue 19: removes an environment's datastores for good (a destroyed preview): every server
   * stopped, its data directories and backup stores deleted, its passwords forgotten. Returns
   * the directories removed.
   */
  async destroyEnvironment(env: EnvironmentRow): Promise<string[]> {
    const bp = env.blueprint as Blueprint;
    const root = join(this.#d.dataDir, "resources", env.project, env.name);
    const backups = join(this.#d.dataDir, "backups", env.project, env.name);
    if (existsSync(root) || bp.databases.length > 0 || bp.keyValues.length > 0) {
      const { pg, redis } = await this.#providersFor(env);
      await pg.stop().catch(() => {});
      for (const kv of bp.keyValues) await redis.remove(kv.name, { withBackups: true }).catch(() => {});
      await redis.stop().catch(() => {});
    }
    this.#providers.delete(env.id);
    this.#provisioned.delete(env.id);
    const removed = [root, backups].filter((d) => existsSync(d));
    for (const d of removed) rmSync(d, { recursive: true, force: true });
    const project = this.#d.store.projects.byId(env.projectId);
    if (project) {
      for (const s of this.#d.secrets.store.list({ id: project.id, name: project.name }, { environment: env.name })) {
        if (s.environment === env.name) this.#d.secrets.store.unset({ project: { id: project.id, name: project.name }, environment: env.name, owner: s.owner, name: s.name }, "system");
      }
    }
    return removed;
  }

  /** Stops the servers this daemon manages (data stays on disk). */
  async stop(): Promise<void> {
    for (const p of this.#providers.values()) {
      await p.pg.stop();
      await p.redis.stop();
    }
    this.#providers.clear();
    this.#provisioned.clear();
  }

  /** Leaves the servers running for the next daemon, which adopts them without a restart. */
  detach(): void {
    for (const p of this.#providers.values()) {
      p.pg.detach();
      p.redis.detach();
    }
    this.#providers.clear();
    this.#provisioned.clear();
  }
}
