/**
 * The PostgreSQL resource provider: one server per environment (Debian's binaries, run as the
 * `postgres` OS user), one database + least-privilege role per blueprint database, optional
 * PgBouncer, continuous WAL archiving, verified base backups, restores into new instances and
 * restore drills. Every operation on the server — provisioning, backup, restore, promote, drill,
 * upkeep — takes the server's lock, so none of them ever runs beside another. State that must
 * survive a daemon restart lives in `<rootDir>/state.json` (no secrets) and in the
 * self-describing backup stores; the server's lifecycle is server.ts.
 */
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { escapeIdentifier } from "pg";
import { BerthError } from "../../core/errors.ts";
import type { EventSink } from "../../core/events.ts";
import { mkdirOwned } from "../files.ts";
import { Mutex } from "../lock.ts";
import { runAsFor, runProgram } from "../proc.ts";
import { copyDatabase, psqlArgs } from "./fork.ts";
import type { BackupRecord, ConnectionProps, HealthReport, Provisioned, ResourceProvider, RestoreResult, RestoreTarget } from "../provider.ts";
import { generatePassword, scramVerifier } from "../secret.ts";
import { type ArchiveStatus, archiveStatus, type BackupContext, takeBaseBackup, takeDump } from "./backup.ts";
import { runDrill, sweepScratch } from "./drill.ts";
import { PgDistribution, type PgToolCache } from "./distribution.ts";
import { DEFAULT_INTERVALS, type DutyIntervals, type DutyResult, planDuties, runDuties } from "./duties.ts";
import { type PostgresInput, resolvePostgresInput } from "./input.ts";
import type { PgInstance } from "./instance.ts";
import { restorableFrom } from "./lineage.ts";
import { recordPoint } from "./points.ts";
import { abandonAttempt, explainFailure, type OpContext, type RestoreOptions, replayPlan, restoreOp, tablesWithRows } from "./restore-op.ts";
import { findStores, importStores } from "./recover.ts";
import { planStorePrune, type StorePrunePlan, walToRemove, widestPolicy } from "./retention.ts";
import { ensureDatabase, setRoleVerifier } from "./roles.ts";
import { PgServer } from "./server.ts";
import { type UpgradeResult, upgradeOp } from "./upgrade.ts";
import type { DatabaseState } from "./state.ts";
import type { DrillRecord, VerificationPoint } from "./store.ts";

export interface PostgresProviderOptions {
  /** Environment label used in events (`production`). */
  readonly environment: string;
  /** Where servers live; one environment per rootDir. */
  readonly rootDir: string;
  /** Backup store root (local directory): one store per server that has been live. */
  readonly storeDir: string;
  readonly events: EventSink;
  /** WAL switch interval; clamped to 1..60 s so RPO stays <= 60 s. Default 60 s. */
  readonly archiveTimeoutMs?: number;
  readonly now?: () => number;
  readonly random?: () => number;
  /** Root of installed majors; default /usr/lib/postgresql. */
  readonly pgRoot?: string;
  /** The daemon's tool cache, for majors the distribution lacks (distribution.ts); without it only installed majors run. */
  readonly tools?: PgToolCache;
  /** Health checks of the live server (data dir, archiver, retiring servers); default 5 s, 0 = off. */
  readonly monitorIntervalMs?: number;
  /** A server replaced by a promoted restore stops at the latest after this; default 10 min. */
  readonly retireAfterMs?: number;
}

/** One server of the database's history, as `berth db list` shows it. */
export interface ServerSummary {
  readonly instance: string;
  readonly role: "live" | "retiring" | "kept" | "previous";
  readonly running: boolean;
  readonly port: number;
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
  /** Age of the oldest WAL not yet archived (the current RPO); undefined when unknown or off. */
  readonly archiveLagMs: number | undefined;
  readonly archiving: "ok" | "failing" | "behind" | "off" | "unknown";
  /** The newest base backup still verified, and when it finished. */
  readonly lastGoodBackup: { readonly id: string; readonly at: string } | undefined;
  readonly lastDrill: { readonly at: string; readonly ok: boolean } | undefined;
  readonly restorableFrom: string | undefined;
  readonly servers: readonly ServerSummary[];
}

export type { RestoreOptions } from "./restore-op.ts";

export class PostgresProvider implements ResourceProvider<PostgresInput> {
  readonly kind = "postgres" as const;
  readonly #o: Required<Omit<PostgresProviderOptions, "pgRoot" | "tools">> & { pgRoot: string | undefined };
  readonly #runAs = runAsFor("postgres");
  readonly #lock = new Mutex();
  readonly #server: PgServer;
  /** Whether this provider swept what a killed daemon's backups and drills left (once, at the first provision). */
  #swept = false;
  readonly #distribution: PgDistribution;

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
      monitorIntervalMs: opts.monitorIntervalMs ?? 5000,
      retireAfterMs: opts.retireAfterMs ?? 10 * 60_000,
    };
    this.#distribution = new PgDistribution({ pgRoot: opts.pgRoot, tools: opts.tools });
    this.#server = new PgServer({ ...this.#o, runAs: this.#runAs, lock: this.#lock, distribution: this.#distribution });
  }

  get archiveTimeoutMs(): number {
    return this.#o.archiveTimeoutMs;
  }

  /** True while an operation (provisioning, backup, restore, drill, upkeep) holds the server. */
  get busy(): boolean {
    return this.#lock.busy;
  }

  get #op(): OpContext {
    return { server: this.#server, rootDir: this.#o.rootDir, events: this.#o.events, now: this.#o.now, runAs: this.#runAs, backupContext: (name) => this.#ctx(name) };
  }

  get #state() {
    return this.#server.state;
  }

  #db(name: string): DatabaseState {
    const d = this.#state.databases.find((x) => x.resource === name);
    if (!d) throw new BerthError("BERTH_NOT_FOUND", { kind: "database", name });
    return d;
  }

  #requireLive(name: string): PgInstance {
    const live = this.#server.live;
    if (!live?.running) throw new BerthError("BERTH_DATA_NOT_RUNNING", { kind: "postgres", name });
    return live;
  }

  #ctx(name: string): BackupContext {
    return { resource: name, environment: this.#o.environment, events: this.#o.events, now: this.#o.now, archiving: this.#server.pitr };
  }

  /**
   * Idempotent, and quiet when nothing changed: the server is started or adopted only if it is
   * not running, and the role, database, schema and access files are written only where they
   * differ from what is there (no ALTER, GRANT or reload on a reconcile that changes nothing).
   */
  provision(input: PostgresInput, opts: { readonly password?: string; readonly signal?: AbortSignal } = {}): Promise<Provisioned> {
    const r = resolvePostgresInput(input);
    opts.signal?.throwIfAborted();
    return this.#lock.run(async () => {
      if (!this.#swept) await this.#sweepLeftovers(r.name);
      const entry: DatabaseState = {
        resource: r.name,
        database: r.databaseName,
        user: r.user,
        pooled: r.pooled,
        allowList: r.allowList,
        keep: r.keep,
        pitrWindowMs: r.pitrWindowMs,
        backupIntervalMs: r.backupIntervalMs,
        backupSchedule: r.backupSchedule,
        backups: r.backups,
        pitr: r.pitr,
      };
      const prev = this.#state.databases.find((d) => d.resource === r.name);
      const changedEntry = JSON.stringify(prev) !== JSON.stringify(entry);
      if (changedEntry) {
        this.#state.databases = prev ? this.#state.databases.map((d) => (d.resource === r.name ? entry : d)) : [...this.#state.databases, entry];
        this.#server.save();
      }
      if (!r.backups && r.pitr) {
        this.#o.events.emit({ type: "data:warning", scope: this.#server.scope(r.name), data: { resource: r.name, message: "backups: false with pitr on: point-in-time recovery replays WAL from a base backup, so a daily base backup is still taken" } });
      }
      const wasRunning = this.#server.live?.running ?? false;
      const inst = await this.#server.ensureLive(r.version, r.name);
      const password = opts.password ?? generatePassword();
      const ran = await ensureDatabase(inst, r.databaseName, r.user, password);
      await this.#server.applyAccess(inst);
      await this.#server.retire(r.name);
      const version = String(this.#server.bins().major);
      if (!wasRunning || changedEntry || ran.length > 0) {
        this.#o.events.emit({ type: "data:provisioned", scope: this.#server.scope(r.name), data: { kind: "postgres", resource: r.name, port: inst.port, version } });
      }
      return { connection: await this.connection(r.name, password), passwordGenerated: opts.password === undefined, version };
    });
  }

  /**
   * A daemon killed during a drill leaves its scratch server running (its own process group) and
   * its directory; killed during a backup, a base backup directory or dump without a record.
   * Removed at this daemon's first provision, under the lock, so nothing of the kind is running;
   * a drill and a backup also sweep before they start (drill.ts, backup.ts).
   */
  async #sweepLeftovers(resource: string): Promise<void> {
    this.#swept = true;
    const scratch = await sweepScratch(join(this.#o.rootDir, "scratch"));
    const orphans = [...this.#server.stores().entries()].flatMap(([instance, s]) => s.sweepUnrecorded().map((f) => `${instance}/${f}`));
    if (scratch.length + orphans.length === 0) return;
    const what = [...(scratch.length ? [`drill scratch ${scratch.join(", ")}`] : []), ...(orphans.length ? [`unrecorded backups ${orphans.join(", ")}`] : [])].join("; ");
    this.#o.events.emit({ type: "data:warning", scope: this.#server.scope(resource), data: { resource, message: `removed what an interrupted daemon left: ${what}` } });
  }

  async connection(name: string, password: string): Promise<ConnectionProps> {
    const d = this.#db(name);
    const port = this.#server.live?.port ?? this.#state.port;
    const auth = `${encodeURIComponent(d.user)}:${encodeURIComponent(password)}`;
    const bouncer = this.#server.bouncer;
    return {
      connectionString: `postgresql://${auth}@127.0.0.1:${port}/${d.database}`,
      host: "127.0.0.1",
      port,
      user: d.user,
      password,
      database: d.database,
      ...(d.pooled && bouncer?.port ? { pooledConnectionString: `postgresql://${auth}@127.0.0.1:${bouncer.port}/${d.database}` } : {}),
    };
  }

  /** Sets a new generated password for the database's role and returns it (rotation). */
  rotatePassword(name: string): Promise<ConnectionProps> {
    return this.#lock.run(async () => {
      const d = this.#db(name);
      const password = generatePassword();
      await setRoleVerifier(this.#requireLive(name), d.user, scramVerifier(password));
      await this.#server.applyAccess(this.#requireLive(name));
      return this.connection(name, password);
    });
  }

  /** A verified base backup of the environment's server (it holds every database). */
  backup(name: string): Promise<BackupRecord> {
    return this.#lock.run(async () => {
      this.#db(name);
      return takeBaseBackup(this.#requireLive(name), this.#server.store(), this.#ctx(name));
    });
  }

  /** A logical dump (pg_dump -Fc) of one database, on demand. */
  dump(name: string): Promise<BackupRecord> {
    return this.#lock.run(async () => takeDump(this.#requireLive(name), this.#server.store(), this.#db(name).database, this.#ctx(name)));
  }

  /** Backups of every store of the database's history (every server it has had), oldest first. */
  async backups(name: string): Promise<BackupRecord[]> {
    this.#db(name);
    return [...this.#server.stores().values()].flatMap((s) => s.list()).sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
  }

  async #recordPoint(): Promise<VerificationPoint> {
    const inst = this.#requireLive(this.#o.environment);
    const point = await recordPoint(inst, this.#state.databases.map((d) => d.database), `berth-${this.#o.now()}-${Math.floor(this.#o.random() * 1e6)}`);
    this.#server.store().savePoint(point);
    return point;
  }

  /** Records a verification point (restore point + table checksums) for drills. */
  recordPoint(name: string): Promise<VerificationPoint> {
    return this.#lock.run(() => {
      this.#db(name);
      return this.#recordPoint();
    });
  }

  /**
   * Restores into a new instance. `keep`: it runs beside the live one (its port in the result).
   * `promote`: it becomes the environment's server; the old one keeps serving the instances
   * still connected to it until they moved (then it stops, its directory kept), services must be
   * rolled onto the new port, and a fresh base backup starts its store. Before replaying, the
   * WAL chain the target needs is checked; after replaying to `latest`, that it all replayed:
   * a gap fails loudly naming the segment. `fromArchive` restores from the archive alone.
   */
  restore(name: string, target: RestoreTarget, opts: RestoreOptions): Promise<RestoreResult> {
    return this.#lock.run(() => {
      this.#db(name);
      return restoreOp(this.#op, name, target, opts);
    });
  }

  /**
   * Disaster recovery: rebuilds the database from a copy of its backup stores alone (`from`: the
   * backups directory or a store), on a machine whose server is new: refused when a table there
   * holds a row, unless `replace`. The stores are copied in, `latest` of their history is restored
   * from the archive alone and promoted (the server it replaces keeps serving until the services
   * moved, then stops, kept on disk like any replaced server), and drilled.
   */
  recover(name: string, from: string, where: { readonly project: string; readonly environment: string }, opts: { readonly replace?: boolean; readonly id?: string } = {}): Promise<{ restore: RestoreResult; drill: DrillRecord; imported: string[] }> {
    return this.#lock.run(async () => {
      this.#db(name);
      const sources = findStores(from, where);
      const live = this.#server.live;
      if (live?.running && !opts.replace && this.#state.live !== opts.id) {
        const tables = await tablesWithRows(this.#op, live);
        if (tables.length > 0) throw new BerthError("BERTH_DATA_RECOVER_REFUSED", { name, detail: `rows in ${tables.slice(0, 3).join(", ")}${tables.length > 3 ? ", ..." : ""}` });
      }
      const imported = await importStores(sources, this.#o.storeDir, name, this.#runAs);
      // `latest` of the recovered history (its newest store), not of this machine's new server.
      const newest = sources.map((s) => s.meta()).sort((a, b) => a.liveFrom.localeCompare(b.liveFrom)).at(-1)!.instance;
      const restore = await restoreOp(this.#op, name, { kind: "latest" }, { mode: "promote", fromArchive: true, current: newest, ...(opts.id ? { id: opts.id } : {}) });
      const drill = await this.#drill(name);
      return { restore, drill, imported };
    });
  }

  /** Undoes an interrupted restore attempt of id `restore` (not promoted or kept): restore-op.ts. */
  abandonRestore(restore: string): Promise<boolean> {
    return this.#lock.run(() => abandonAttempt(this.#op, restore));
  }

  /**
   * `berth db upgrade`: the server moves to a newer major through a copy into a new server
   * (upgrade.ts); the old one is kept. Services must then roll onto the new port (as after a
   * promoted restore).
   */
  upgrade(name: string, to: number, progress?: (step: string, detail?: string) => void): Promise<UpgradeResult> {
    return this.#lock.run(() => {
      this.#db(name);
      return upgradeOp({ server: this.#server, distribution: this.#distribution, rootDir: this.#o.rootDir, events: this.#o.events, now: this.#o.now, runAs: this.#runAs, pgRoot: this.#o.pgRoot, backupContext: (n) => this.#ctx(n), ...(progress ? { progress } : {}) }, name, to);
    });
  }

  /**
   * Issue 19, `fork` preview data: copies `name`'s database out of a kept restore of `source`
   * (another environment's provider) into this provider's live server.
   */
  forkFrom(source: PostgresProvider, restore: string, name: string, file: string, timeoutMs: number): Promise<void> {
    return this.#lock.run(async () => {
      const from = source.#server.kept.get(restore);
      if (!from) throw new BerthError("BERTH_NOT_FOUND", { kind: "kept restore", name: restore });
      // The dump is written and read by the servers' OS user (as root: postgres).
      mkdirOwned(dirname(file), 0o700, this.#runAs);
      await copyDatabase(from, this.#requireLive(name), this.#db(name).database, file, { runAs: this.#runAs, name, timeoutMs });
    });
  }

  /** Issue 19: a scrub step's SQL on `name`'s database, in one transaction (superuser). */
  runSql(name: string, sql: string, timeoutMs: number): Promise<void> {
    return this.#lock.run(async () => {
      const live = this.#requireLive(name);
      await runProgram(live.bin("psql"), psqlArgs(live, this.#db(name).database, { sql }), { runAs: this.#runAs, name, timeoutMs });
    });
  }

  /** Stops and deletes a server kept beside the live one (a --keep restore, or a replaced server). */
  discardRestore(restore: string): Promise<void> {
    return this.#lock.run(async () => {
      if (restore === this.#state.live) throw new BerthError("BERTH_CONFLICT", { kind: "live instance", name: restore });
      const inst = this.#server.kept.get(restore) ?? this.#server.retiring.get(restore) ?? this.#server.instance(restore);
      await inst.destroy();
      this.#server.kept.delete(restore);
      this.#server.retiring.delete(restore);
      this.#state.kept = this.#state.kept.filter((k) => k.restore !== restore);
      this.#state.retiring = (this.#state.retiring ?? []).filter((k) => k.instance !== restore);
      this.#server.save();
    });
  }

  /**
   * A restore drill (drill.ts): the WAL chain of the whole window checked, a point recorded now
   * restored from the newest base backup into a scratch instance and every table compared.
   * Throws BERTH_DATA_DRILL_FAILED loudly; the failing scratch log is kept.
   */
  drill(name: string): Promise<DrillRecord> {
    return this.#lock.run(() => this.#drill(name));
  }

  #drill(name: string): Promise<DrillRecord> {
    this.#db(name);
    return runDrill({
      resource: name,
      environment: this.#o.environment,
      live: this.#requireLive(name),
      server: this.#server,
      scratchRoot: join(this.#o.rootDir, "scratch"),
      databases: this.#state.databases.map((d) => d.database),
      events: this.#o.events,
      now: this.#o.now,
      recordPoint: () => this.#recordPoint(),
      replay: (plan, stores, dir) => replayPlan(this.#op, name, plan, stores, this.#requireLive(name), dir, { hba: [], allowList: [] }),
      explain: (e, plan, stores, text) => explainFailure(this.#op, e, name, plan, stores, text),
    });
  }

  async drills(name: string): Promise<DrillRecord[]> {
    this.#db(name);
    return [...this.#server.stores().values()].flatMap((s) => s.drills()).sort((a, b) => a.at.localeCompare(b.at));
  }

  /** Applies retention (daily/weekly/monthly counts + PITR window) to every store's backups and WAL. */
  prune(name: string): Promise<StorePrunePlan> {
    return this.#lock.run(async () => this.#prune(name));
  }

  #prune(name: string): StorePrunePlan {
    const d = this.#db(name);
    const stores = this.#server.stores();
    const plan = planStorePrune(this.#server.views(), widestPolicy([d, ...this.#state.databases]), this.#o.now());
    for (const r of plan.remove) {
      const s = stores.get(r.store);
      const b = s?.get(r.id);
      if (s && b) s.remove(b);
    }
    let wal = 0;
    const touched: string[] = [];
    for (const [id, before] of plan.walBefore) {
      if (id === this.#state.live && before === "all") continue; // the live server's archive is never emptied
      const s = stores.get(id)!;
      const gone = before === "all" ? s.walSegments() : walToRemove(s.walSegments(), before);
      s.removeWal(gone);
      wal += gone.length;
      if (gone.length > 0) touched.push(id);
    }
    if (plan.remove.length > 0 || wal > 0) this.#o.events.emit({ type: "backup:pruned", scope: this.#server.scope(name), data: { resource: name, backups: plan.remove.map((r) => r.id), walSegments: wal, stores: touched } });
    return plan;
  }

  /**
   * Periodic upkeep (see duties.ts): runs whatever is due and reports each duty's outcome, each
   * under the server's lock (a user's restore waits at most one duty). Each failure has already
   * been made loud (event + error); one failing duty does not stop the rest.
   */
  async tick(name: string, intervals?: DutyIntervals): Promise<DutyResult[]> {
    const d = this.#db(name);
    const iv = intervals ?? { ...DEFAULT_INTERVALS, backupIntervalMs: d.backupIntervalMs, backupSchedule: d.backupSchedule, backups: this.#state.databases.some((x) => x.backups !== false || x.pitr !== false), pitr: this.#server.pitr };
    const stores = [...this.#server.stores().values()];
    // Every drill counts, an empty one too ("nothing to compare yet"): drilling an empty
    // database at every beat would force a WAL segment out each time.
    const drills = stores.flatMap((s) => s.drills());
    const history = {
      // With PITR on, a backup taken while archiving was off does not count: the window needs one it can replay from.
      lastBackupAt: stores.flatMap((s) => s.list().filter((b) => b.kind === "base" && b.verified && (b.pitr !== false || !this.#server.pitr))).map((b) => b.finishedAt).sort().at(-1),
      lastPointAt: this.#state.live ? this.#server.store().points().at(-1)?.at : undefined,
      lastDrillAt: drills.map((x) => x.at).sort().at(-1),
    };
    const locked = (fn: () => Promise<unknown>) => () => this.#lock.run(fn);
    return runDuties(planDuties(history, iv, this.#o.now()), {
      "check-archive": async () => {
        const s = await this.#server.checkArchive(name);
        if (s.missed) throw new Error(`WAL archive behind by ${s.unarchivedAgeMs} ms${s.failing ? " (archive_command failing)" : ""}`);
      },
      backup: locked(() => takeBaseBackup(this.#requireLive(name), this.#server.store(), this.#ctx(name))),
      prune: locked(async () => this.#prune(name)),
      point: locked(() => this.#recordPoint()),
      drill: locked(() => this.#drill(name)),
    });
  }

  /** Archive health now; raises `backup:archive:missed` / `backup:archive:failed` (once per episode). */
  checkArchive(name: string): Promise<ArchiveStatus & { missed: boolean }> {
    this.#db(name);
    return this.#server.checkArchive(name);
  }

  /** Read-only, no lock and no events, so it can be polled. */
  async health(name: string): Promise<HealthReport> {
    this.#db(name);
    const live = this.#server.live;
    if (!live?.running) return { ok: false, running: false, detail: "server not running" };
    if (!this.#server.pitr) return { ok: true, running: true, detail: "ok (no WAL archive: pitr is off)" };
    try {
      const s = await archiveStatus(live, this.#o.now());
      const behind = s.failing || s.unarchivedAgeMs > 2 * this.#o.archiveTimeoutMs;
      return { ok: !behind, running: true, detail: behind ? `WAL archive behind by ${Math.round(s.unarchivedAgeMs / 1000)} s${s.failing ? " (archive_command failing)" : ""}` : "ok", archiveAgeMs: s.unarchivedAgeMs };
    } catch (e) {
      return { ok: false, running: true, detail: (e as Error).message };
    }
  }

  /** Every database with its server's health: archive lag, last good backup, last drill, servers. */
  async list(): Promise<DatabaseSummary[]> {
    const live = this.#server.live;
    let lag: number | undefined;
    let archiving: DatabaseSummary["archiving"] = this.#server.pitr ? "unknown" : "off";
    if (live?.running && this.#server.pitr) {
      const s = await archiveStatus(live, this.#o.now()).catch(() => undefined);
      if (s) {
        lag = s.unarchivedAgeMs;
        archiving = s.failing ? "failing" : s.unarchivedAgeMs > 2 * this.#o.archiveTimeoutMs ? "behind" : "ok";
      }
    }
    const views = this.#server.views();
    const good = views.flatMap((v) => v.backups.filter((b) => b.verified)).sort((a, b) => a.finishedAt.localeCompare(b.finishedAt)).at(-1);
    const drill = [...this.#server.stores().values()].flatMap((s) => s.drills()).sort((a, b) => a.at.localeCompare(b.at)).at(-1);
    const servers: ServerSummary[] = [
      ...(this.#state.live ? [{ instance: this.#state.live, role: "live" as const, running: live?.running ?? false, port: this.#state.port }] : []),
      ...(this.#state.retiring ?? []).map((r) => ({ instance: r.instance, role: "retiring" as const, running: this.#server.retiring.get(r.instance)?.running ?? false, port: r.port })),
      ...this.#state.kept.map((k) => ({ instance: k.restore, role: "kept" as const, running: this.#server.kept.get(k.restore)?.running ?? false, port: k.port })),
      ...views
        .filter((v) => v.meta.retiredAt && v.meta.instance !== this.#state.live && !(this.#state.retiring ?? []).some((r) => r.instance === v.meta.instance) && this.#server.instance(v.meta.instance).initialized)
        .map((v) => ({ instance: v.meta.instance, role: "previous" as const, running: false, port: 0 })),
    ];
    return this.#state.databases.map((d) => ({
      resource: d.resource,
      database: d.database,
      user: d.user,
      port: live?.port ?? this.#state.port,
      pooledPort: d.pooled ? this.#server.bouncer?.port : undefined,
      running: live?.running ?? false,
      version: this.#state.major,
      archiveLagMs: lag,
      archiving,
      lastGoodBackup: good ? { id: good.id, at: good.finishedAt } : undefined,
      lastDrill: drill ? { at: drill.at, ok: drill.ok } : undefined,
      restorableFrom: restorableFrom(views),
      servers,
    }));
  }

  /** The live server's socket and port, for `berth db psql` (superuser over the private socket). */
  adminEndpoint(): { socketDir: string; port: number; psql: string } | undefined {
    const live = this.#server.live;
    return live ? { socketDir: live.socketDir, port: live.port, psql: live.bin("psql") } : undefined;
  }

  /** Stops every server this provider runs (data stays on disk). */
  stop(): Promise<void> {
    return this.#server.stop();
  }

  /** Leaves the servers running and forgets them: a restarted daemon adopts them. */
  detach(): void {
    this.#server.detach();
  }

  /** Drops one database and its role; the server and the backups (which hold it) stay unless asked. */
  remove(name: string, opts: { readonly withBackups?: boolean } = {}): Promise<void> {
    return this.#lock.run(async () => {
      const d = this.#db(name);
      const live = this.#requireLive(name);
      await live.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(d.database)} WITH (FORCE)`);
      await live.query(`DROP ROLE IF EXISTS ${escapeIdentifier(d.user)}`);
      this.#state.databases = this.#state.databases.filter((x) => x.resource !== name);
      this.#server.save();
      await this.#server.applyAccess(live);
      if (this.#state.databases.length === 0) {
        await this.#server.stop();
        if (opts.withBackups) rmSync(this.#o.storeDir, { recursive: true, force: true });
      }
      this.#o.events.emit({ type: "data:removed", scope: this.#server.scope(name), data: { kind: "postgres", resource: name } });
    });
  }
}
