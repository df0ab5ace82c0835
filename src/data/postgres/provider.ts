/**
 * The PostgreSQL resource provider: one server per environment (Debian's binaries, run as the
 * `postgres` OS user), one database + least-privilege role per blueprint database, optional
 * PgBouncer, continuous WAL archiving, verified base backups, restores into new instances and
 * restore drills. State that must survive a daemon restart lives in `<rootDir>/state.json`
 * (no secrets) and in the self-describing backup store.
 */
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { escapeIdentifier } from "pg";
import { BerthError } from "../../core/errors.ts";
import type { EventSink } from "../../core/events.ts";
import { newId } from "../../core/ids.ts";
import type { BackupRecord, ConnectionProps, HealthReport, Provisioned, ResourceProvider, RestoreResult, RestoreTarget } from "../provider.ts";
import { runAsFor } from "../proc.ts";
import { generatePassword, scramVerifier } from "../secret.ts";
import { type ArchiveStatus, archiveStatus, type BackupContext, flushArchive, takeBaseBackup, takeDump } from "./backup.ts";
import { findBinaries, type PgBinaries } from "./binaries.ts";
import { Bouncer } from "./bouncer.ts";
import { renderArchiveScript, renderHba } from "./config.ts";
import { runDrill } from "./drill.ts";
import { DEFAULT_INTERVALS, type DutyIntervals, type DutyResult, planDuties, runDuties } from "./duties.ts";
import { type PostgresInput, resolvePostgresInput } from "./input.ts";
import { mkdirOwned, writeOwned } from "../files.ts";
import { type InstanceStart, PgInstance } from "./instance.ts";
import { recordPoint } from "./points.ts";
import { planRetention, type RetentionPlan, walToRemove, widestPolicy } from "./retention.ts";
import { type DatabaseState, readState, type State, saveState } from "./state.ts";
import { describeTarget, planRestore, restoreInto } from "./restore.ts";
import { ensureDatabase, setRoleVerifier } from "./roles.ts";
import { BackupStore, type DrillRecord, type VerificationPoint } from "./store.ts";

export interface PostgresProviderOptions {
  /** Environment label used in events (`production`). */
  readonly environment: string;
  /** Where servers live; one environment per rootDir. */
  readonly rootDir: string;
  /** Backup store root (local directory). */
  readonly storeDir: string;
  readonly events: EventSink;
  /** WAL switch interval; clamped to 1..60 s so RPO stays <= 60 s. Default 60 s. */
  readonly archiveTimeoutMs?: number;
  readonly now?: () => number;
  readonly random?: () => number;
  /** Root of installed majors; default /usr/lib/postgresql. */
  readonly pgRoot?: string;
}

/** What `berth db list` shows. */
export interface DatabaseSummary {
  readonly resource: string;
  readonly database: string;
  readonly user: string;
  readonly port: number;
  readonly pooledPort: number | undefined;
  readonly running: boolean;
  readonly version: number | undefined;
}

export class PostgresProvider implements ResourceProvider<PostgresInput> {
  readonly kind = "postgres" as const;
  readonly #o: Required<Omit<PostgresProviderOptions, "pgRoot">> & { pgRoot: string | undefined };
  readonly #runAs = runAsFor("postgres");
  readonly #kept = new Map<string, PgInstance>();
  #state: State;
  #live: PgInstance | undefined;
  #bouncer: Bouncer | undefined;
  #bins: PgBinaries | undefined;

  constructor(opts: PostgresProviderOptions) {
    this.#o = {
      environment: opts.environment,
      rootDir: opts.rootDir,
      storeDir: opts.storeDir,
      events: opts.events,
      archiveTimeoutMs: Math.max(1000, Math.min(60_000, opts.archiveTimeoutMs ?? 60_000)),
      now: opts.now ?? Date.now,
      random: opts.random ?? Math.random,
      pgRoot: opts.pgRoot,
    };
    this.#state = readState(opts.rootDir);
  }

  get archiveTimeoutMs(): number {
    return this.#o.archiveTimeoutMs;
  }

  #scope(resource?: string) {
    return { environment: this.#o.environment, ...(resource ? { service: resource } : {}) };
  }

  /** The store of the live instance: each instance (timeline) archives into its own. */
  #store(instanceId = this.#state.live): BackupStore {
    if (!instanceId) throw new BerthError("BERTH_DATA_NOT_RUNNING", { kind: "postgres", name: this.#o.environment });
    return new BackupStore(join(this.#o.storeDir, instanceId));
  }

  #instance(id: string): PgInstance {
    return new PgInstance({ name: this.#o.environment, dir: join(this.#o.rootDir, "instances", id), bins: this.#bins!, runAs: this.#runAs });
  }

  #archiveScript(): string {
    return join(this.#o.rootDir, "archive-wal.sh");
  }

  #startSettings(store: BackupStore): Omit<InstanceStart, "recovery"> {
    const allow = [...new Set(this.#state.databases.flatMap((d) => d.allowList))];
    return {
      hba: this.#state.databases.map((d) => ({ database: d.database, user: d.user })),
      allowList: allow,
      archive: { script: this.#archiveScript(), dir: store.walDir, timeoutMs: this.#o.archiveTimeoutMs },
    };
  }

  /** Directories the `postgres` user must traverse; created (or opened up to traversal) here. */
  #prepareRoot(): void {
    for (const d of [this.#o.rootDir, this.#o.storeDir, join(this.#o.rootDir, "instances"), join(this.#o.rootDir, "scratch")]) {
      mkdirSync(d, { recursive: true });
      chmodSync(d, 0o711);
    }
    writeFileSync(this.#archiveScript(), renderArchiveScript(), { mode: 0o755 });
    chmodSync(this.#archiveScript(), 0o755);
  }

  /** Starts the live server (creating it on first use); idempotent. */
  async #ensureLive(requested: number | undefined, resource: string): Promise<PgInstance> {
    if (this.#live?.running) return this.#live;
    this.#bins ??= findBinaries(this.#state.major ?? requested, this.#o.pgRoot);
    if (requested !== undefined && this.#bins.major !== requested) {
      this.#o.events.emit({ type: "data:warning", scope: this.#scope(resource), data: { resource, message: `PostgreSQL ${requested} is not installed; using ${this.#bins.major}` } });
    }
    this.#prepareRoot();
    if (!this.#state.live) {
      this.#state.live = newId("pg");
      this.#state.major = this.#bins.major;
      saveState(this.#o.rootDir, this.#state);
    }
    const inst = this.#instance(this.#state.live);
    const store = this.#store();
    store.prepare(this.#runAs);
    await inst.init();
    const port = await inst.start(this.#startSettings(store), this.#state.port);
    this.#live = inst;
    if (this.#state.port !== port) {
      this.#state.port = port;
      saveState(this.#o.rootDir, this.#state);
    }
    this.#o.events.emit({ type: "data:started", scope: this.#scope(resource), data: { kind: "postgres", resource, port, pid: inst.pid } });
    return inst;
  }

  /** Rewrites pg_hba/PgBouncer for the current databases and reloads. */
  async #applyAccess(inst: PgInstance): Promise<void> {
    const store = this.#store();
    // Access changes need no restart: rewrite pg_hba.conf and reload.
    const s = this.#startSettings(store);
    writeOwned(join(inst.dataDir, "pg_hba.conf"), renderHba(s.hba, s.allowList), 0o600, this.#runAs);
    await inst.query("SELECT pg_reload_conf()");
    const pooled = this.#state.databases.filter((d) => d.pooled);
    if (pooled.length === 0) {
      await this.#bouncer?.stop();
      return;
    }
    if (!this.#bouncer) {
      const dir = join(this.#o.rootDir, "bouncer");
      mkdirOwned(dir, 0o700, this.#runAs);
      this.#bouncer = new Bouncer({ name: this.#o.environment, dir, runAs: this.#runAs, port: this.#state.bouncerPort ?? 0 });
    }
    const verifiers = await inst.query<{ rolname: string; rolpassword: string }>("SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY($1)", [pooled.map((d) => d.user)]);
    const byUser = new Map(verifiers.map((v) => [v.rolname, v.rolpassword]));
    await this.#bouncer.apply(
      pooled.map((d) => ({ database: d.database, user: d.user, verifier: byUser.get(d.user) ?? "" })),
      inst.port,
    );
    if (this.#state.bouncerPort !== this.#bouncer.port) {
      this.#state.bouncerPort = this.#bouncer.port;
      saveState(this.#o.rootDir, this.#state);
    }
  }

  async provision(input: PostgresInput, opts: { readonly password?: string; readonly signal?: AbortSignal } = {}): Promise<Provisioned> {
    const r = resolvePostgresInput(input);
    opts.signal?.throwIfAborted();
    const entry: DatabaseState = { resource: r.name, database: r.databaseName, user: r.user, pooled: r.pooled, allowList: r.allowList, keep: r.keep, pitrWindowMs: r.pitrWindowMs, backupIntervalMs: r.backupIntervalMs };
    const known = this.#state.databases.some((d) => d.resource === r.name);
    this.#state.databases = known ? this.#state.databases.map((d) => (d.resource === r.name ? entry : d)) : [...this.#state.databases, entry];
    saveState(this.#o.rootDir, this.#state);
    const inst = await this.#ensureLive(r.version, r.name);
    const password = opts.password ?? generatePassword();
    await ensureDatabase(inst, r.databaseName, r.user, scramVerifier(password));
    await this.#applyAccess(inst);
    this.#o.events.emit({ type: "data:provisioned", scope: this.#scope(r.name), data: { kind: "postgres", resource: r.name, port: inst.port, version: String(this.#bins!.major) } });
    return { connection: await this.connection(r.name, password), passwordGenerated: opts.password === undefined, version: String(this.#bins!.major) };
  }

  #db(name: string): DatabaseState {
    const d = this.#state.databases.find((x) => x.resource === name);
    if (!d) throw new BerthError("BERTH_NOT_FOUND", { kind: "database", name });
    return d;
  }

  async connection(name: string, password: string): Promise<ConnectionProps> {
    const d = this.#db(name);
    const port = this.#live?.port ?? this.#state.port;
    const auth = `${encodeURIComponent(d.user)}:${encodeURIComponent(password)}`;
    return {
      connectionString: `postgresql://${auth}@127.0.0.1:${port}/${d.database}`,
      host: "127.0.0.1",
      port,
      user: d.user,
      password,
      database: d.database,
      ...(d.pooled && this.#bouncer?.port ? { pooledConnectionString: `postgresql://${auth}@127.0.0.1:${this.#bouncer.port}/${d.database}` } : {}),
    };
  }

  /** Sets a new generated password for the database's role and returns it (rotation). */
  async rotatePassword(name: string): Promise<ConnectionProps> {
    const d = this.#db(name);
    const password = generatePassword();
    await setRoleVerifier(this.#requireLive(name), d.user, scramVerifier(password));
    await this.#applyAccess(this.#requireLive(name));
    return this.connection(name, password);
  }

  #requireLive(name: string): PgInstance {
    if (!this.#live?.running) throw new BerthError("BERTH_DATA_NOT_RUNNING", { kind: "postgres", name });
    return this.#live;
  }

  #ctx(name: string): BackupContext {
    return { resource: name, environment: this.#o.environment, events: this.#o.events, now: this.#o.now };
  }

  /** A verified base backup of the environment's server (it holds every database). */
  async backup(name: string): Promise<BackupRecord> {
    this.#db(name);
    const store = this.#store();
    return takeBaseBackup(this.#requireLive(name), store, this.#ctx(name));
  }

  /** A logical dump (pg_dump -Fc) of one database, on demand. */
  async dump(name: string): Promise<BackupRecord> {
    return takeDump(this.#requireLive(name), this.#store(), this.#db(name).database, this.#ctx(name));
  }

  async backups(name: string): Promise<BackupRecord[]> {
    this.#db(name);
    return this.#store().list();
  }

  /** Records a verification point (restore point + table checksums) for drills. */
  async recordPoint(name: string): Promise<VerificationPoint> {
    const inst = this.#requireLive(name);
    const point = await recordPoint(inst, this.#state.databases.map((d) => d.database), `berth-${this.#o.now()}-${Math.floor(this.#o.random() * 1e6)}`);
    this.#store().savePoint(point);
    return point;
  }

  /**
   * Restores into a new instance. `keep`: it runs beside the live one (its port in the result).
   * `promote`: it becomes the environment's server; the old one is stopped but kept on disk,
   * services must be rolled onto the new port, and a fresh base backup starts its new archive.
   * `flushArchive: false` restores only what is already archived (as after losing the server).
   */
  async restore(name: string, target: RestoreTarget, opts: { readonly mode: "promote" | "keep"; readonly flushArchive?: boolean }): Promise<RestoreResult> {
    // Without a flush the live server need not be running: this is how a lost server is recovered.
    const live = opts.flushArchive === false && this.#live ? this.#live : this.#requireLive(name);
    const store = this.#store();
    const restore = newId("rst").replace("rst_", "rst-");
    const text = describeTarget(target);
    const scope = this.#scope(name);
    this.#o.events.emit({ type: "restore:started", scope, data: { resource: name, restore, target: text } });
    const t0 = Date.now();
    try {
      if (opts.flushArchive !== false) await flushArchive(live, name);
      const plan = planRestore(target, store.list(), store.points(), this.#o.now());
      if ("error" in plan) throw new BerthError("BERTH_DATA_RESTORE_TARGET_INVALID", { name, target: text, detail: plan.error });
      const newStore = opts.mode === "promote" ? this.#store(restore) : undefined;
      newStore?.prepare(this.#runAs);
      const start = newStore ? this.#startSettings(newStore) : { ...this.#startSettings(store), archive: undefined };
      const inst = await restoreInto({ resource: name, dir: join(this.#o.rootDir, "instances", restore), store, backup: plan.backup, stop: plan.stop, template: live, start });
      if (opts.mode === "promote") {
        await live.stop(); // kept on disk, never overwritten
        this.#live = inst;
        this.#state.live = restore;
        this.#state.port = inst.port;
        saveState(this.#o.rootDir, this.#state);
        await this.#applyAccess(inst);
        await takeBaseBackup(inst, newStore!, this.#ctx(name));
      } else {
        this.#kept.set(restore, inst);
        this.#state.kept.push({ restore, port: inst.port });
        saveState(this.#o.rootDir, this.#state);
      }
      const ms = Date.now() - t0;
      this.#o.events.emit({ type: "restore:completed", scope, data: { resource: name, restore, target: text, port: inst.port, ms, promoted: opts.mode === "promote" } });
      return { restore, target, backup: plan.backup.id, port: inst.port, dataDir: inst.dataDir, mode: opts.mode, ms };
    } catch (e) {
      this.#o.events.emit({ type: "restore:failed", scope, data: { resource: name, restore, target: text, reason: (e as Error).message } });
      throw e;
    }
  }

  /** Stops and deletes a restore kept beside the live server. */
  async discardRestore(restore: string): Promise<void> {
    const inst = this.#kept.get(restore) ?? this.#instance(restore);
    if (restore === this.#state.live) throw new BerthError("BERTH_CONFLICT", { kind: "live instance", name: restore });
    await inst.destroy();
    this.#kept.delete(restore);
    this.#state.kept = this.#state.kept.filter((k) => k.restore !== restore);
    saveState(this.#o.rootDir, this.#state);
  }

  /** A restore drill of a random recent verification point; throws BERTH_DATA_DRILL_FAILED loudly. */
  async drill(name: string, opts: { readonly recentMs?: number } = {}): Promise<DrillRecord> {
    const live = this.#requireLive(name);
    return runDrill({
      resource: name,
      environment: this.#o.environment,
      live,
      store: this.#store(),
      scratchRoot: join(this.#o.rootDir, "scratch"),
      databases: this.#state.databases.map((d) => d.database),
      events: this.#o.events,
      now: this.#o.now,
      random: this.#o.random,
      ...(opts.recentMs !== undefined ? { recentMs: opts.recentMs } : {}),
      recordPoint: () => this.recordPoint(name),
    });
  }

  async drills(name: string): Promise<DrillRecord[]> {
    this.#db(name);
    return this.#store().drills();
  }

  /** Archive health; emits `backup:archive:missed` when unarchived WAL is older than 2x archive_timeout. */
  async checkArchive(name: string): Promise<ArchiveStatus & { missed: boolean }> {
    const s = await archiveStatus(this.#requireLive(name), this.#o.now());
    const limitMs = 2 * this.#o.archiveTimeoutMs;
    const missed = s.failing || s.unarchivedAgeMs > limitMs;
    if (missed) this.#o.events.emit({ type: "backup:archive:missed", scope: this.#scope(name), data: { resource: name, ageMs: s.unarchivedAgeMs, limitMs, lastArchivedAt: s.lastArchivedAt } });
    return { ...s, missed };
  }

  /** Applies retention (daily/weekly/monthly counts + PITR window) to base backups and WAL. */
  async prune(name: string): Promise<RetentionPlan> {
    const d = this.#db(name);
    const store = this.#store();
    const all = store.list();
    const base = all.filter((b) => b.kind === "base");
    const plan = planRetention(base, widestPolicy([d, ...this.#state.databases]), this.#o.now());
    for (const id of plan.remove) store.remove(base.find((b) => b.id === id)!);
    const wal = walToRemove(store.walSegments(), plan.walBefore);
    store.removeWal(wal);
    if (plan.remove.length > 0 || wal.length > 0) this.#o.events.emit({ type: "backup:pruned", scope: this.#scope(name), data: { resource: name, backups: [...plan.remove], walSegments: wal.length } });
    return plan;
  }

  /**
   * Periodic upkeep (see duties.ts): runs whatever is due and reports each duty's outcome. Each
   * failure has already been made loud (event + error); one failing duty does not stop the rest.
   */
  async tick(name: string, intervals: DutyIntervals = { ...DEFAULT_INTERVALS, backupIntervalMs: this.#db(name).backupIntervalMs }): Promise<DutyResult[]> {
    const store = this.#store();
    const history = {
      lastBackupAt: store.list().filter((b) => b.kind === "base").at(-1)?.finishedAt,
      lastPointAt: store.points().at(-1)?.at,
      lastDrillAt: store.drills().at(-1)?.at,
    };
    return runDuties(planDuties(history, intervals, this.#o.now()), {
      "check-archive": async () => {
        const s = await this.checkArchive(name);
        if (s.missed) throw new Error(`WAL archive behind by ${s.unarchivedAgeMs} ms`);
      },
      backup: () => this.backup(name),
      prune: () => this.prune(name),
      point: () => this.recordPoint(name),
      drill: () => this.drill(name),
    });
  }

  /** Read-only: unlike checkArchive() it emits nothing, so it can be polled. */
  async health(name: string): Promise<HealthReport> {
    this.#db(name);
    if (!this.#live?.running) return { ok: false, running: false, detail: "server not running" };
    try {
      const s = await archiveStatus(this.#live, this.#o.now());
      const behind = s.failing || s.unarchivedAgeMs > 2 * this.#o.archiveTimeoutMs;
      return { ok: !behind, running: true, detail: behind ? `WAL archive behind by ${Math.round(s.unarchivedAgeMs / 1000)} s${s.failing ? " (archive_command failing)" : ""}` : "ok", archiveAgeMs: s.unarchivedAgeMs };
    } catch (e) {
      return { ok: false, running: true, detail: (e as Error).message };
    }
  }

  list(): DatabaseSummary[] {
    return this.#state.databases.map((d) => ({
      resource: d.resource,
      database: d.database,
      user: d.user,
      port: this.#live?.port ?? this.#state.port,
      pooledPort: d.pooled ? this.#bouncer?.port : undefined,
      running: this.#live?.running ?? false,
      version: this.#state.major,
    }));
  }

  /** The live server's socket and port, for `berth db psql` (superuser over the private socket). */
  adminEndpoint(): { socketDir: string; port: number; psql: string } | undefined {
    return this.#live ? { socketDir: this.#live.socketDir, port: this.#live.port, psql: this.#live.bin("psql") } : undefined;
  }

  async stop(): Promise<void> {
    await this.#bouncer?.stop();
    for (const k of this.#kept.values()) await k.stop();
    await this.#live?.stop();
    if (this.#live) this.#o.events.emit({ type: "data:stopped", scope: this.#scope(), data: { kind: "postgres", resource: this.#o.environment } });
  }

  /** Drops one database and its role; the server and the backups (which hold it) stay unless asked. */
  async remove(name: string, opts: { readonly withBackups?: boolean } = {}): Promise<void> {
    const d = this.#db(name);
    const live = this.#requireLive(name);
    await live.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(d.database)} WITH (FORCE)`);
    await live.query(`DROP ROLE IF EXISTS ${escapeIdentifier(d.user)}`);
    this.#state.databases = this.#state.databases.filter((x) => x.resource !== name);
    saveState(this.#o.rootDir, this.#state);
    await this.#applyAccess(live);
    if (this.#state.databases.length === 0) {
      await this.stop();
      if (opts.withBackups) rmSync(this.#o.storeDir, { recursive: true, force: true });
    }
    this.#o.events.emit({ type: "data:removed", scope: this.#scope(name), data: { kind: "postgres", resource: name } });
  }
}
