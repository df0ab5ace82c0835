/**
 * The live PostgreSQL server of one environment and its lifecycle: created once (initdb only
 * for a database never provisioned), adopted as is when a previous daemon left it running,
 * restarted only when its own settings change, watched so that a dead postmaster is an alert and
 * comes back at once, and refused — never replaced by an empty one — when its data directory is
 * missing or belongs to another cluster. Also the servers a promoted restore replaced, kept
 * running until no service uses them, and the stores of every server that has been live.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BerthError } from "../../core/errors.ts";
import type { EventSink } from "../../core/events.ts";
import { newId } from "../../core/ids.ts";
import { mkdirOwned, writeOwned } from "../files.ts";
import type { Mutex } from "../lock.ts";
import { logTail, type RunAs } from "../proc.ts";
import { type ArchiveStatus, archiveStatus, flushArchive } from "./backup.ts";
import type { PgBinaries } from "./binaries.ts";
import type { PgDistribution } from "./distribution.ts";
import { Bouncer } from "./bouncer.ts";
import { renderArchiveScript, renderHba, renderRestoreScript } from "./config.ts";
import { type InstanceStart, PgInstance } from "./instance.ts";
import type { StoreView } from "./lineage.ts";
import { readState, type State, saveState } from "./state.ts";
import { BackupStore } from "./store.ts";
import { undoUpgrade } from "./upgrade.ts";
import { readFileSync } from "node:fs";

export interface PgServerOptions {
  readonly environment: string;
  readonly rootDir: string;
  readonly storeDir: string;
  readonly events: EventSink;
  readonly archiveTimeoutMs: number;
  readonly now: () => number;
  /** Where each major's programs come from (distribution.ts). */
  readonly distribution: PgDistribution;
  readonly runAs: RunAs | undefined;
  /** One operation at a time on this server (provider.ts); crash restarts take it too. */
  readonly lock: Mutex;
  /** How often the server's health is checked (data dir, archiver, retiring servers). */
  readonly monitorIntervalMs: number;
  /** A server replaced by a restore is stopped at the latest this long after, used or not. */
  readonly retireAfterMs: number;
}

const CRASH_BACKOFF_MS = 500;

export class PgServer {
  readonly #o: PgServerOptions;
  state: State;
  live: PgInstance | undefined;
  bouncer: Bouncer | undefined;
  #bins: PgBinaries | undefined;
  readonly kept = new Map<string, PgInstance>();
  readonly retiring = new Map<string, PgInstance>();
  #closed = false;
  #monitor: NodeJS.Timeout | undefined;
  #crashes = { count: 0, at: 0 };
  /** Alerts already raised, so a condition that lasts is reported once, not every check. */
  readonly #raised = new Set<string>();

  constructor(o: PgServerOptions) {
    this.#o = o;
    this.state = readState(o.rootDir);
  }

  save(): void {
    saveState(this.#o.rootDir, this.state);
  }

  scope(resource?: string) {
    return { environment: this.#o.environment, ...(resource ? { service: resource } : {}) };
  }

  /** The major this server runs: the recorded one once created, else the one asked for. */
  major(requested?: number): number {
    return this.state.major ?? requested ?? this.#o.distribution.defaultMajor();
  }

  /** The binaries of the server's major, when on this machine already (provideBins installs them). */
  bins(requested?: number): PgBinaries {
    if (this.#bins) return this.#bins;
    const major = this.major(requested);
    const found = this.#o.distribution.locate(major);
    if (!found) throw new BerthError("BERTH_DATA_MAJOR_UNAVAILABLE", { name: this.#o.environment, major, detail: "its binaries are not installed yet (the next provisioning installs them)" });
    this.#bins = found;
    return found;
  }

  /** After `berth db upgrade` promoted a server of another major: it is the server's major now. */
  useMajor(bins: PgBinaries): void {
    this.#bins = bins;
    this.state.major = bins.major;
    this.save();
  }

  /**
   * The binaries of the server's major, installed first when they come from the npm registry. A
   * blueprint asking another major than the server runs changes nothing (only `berth db upgrade`
   * does): the recorded major keeps running and the mismatch is a warning (sync refuses the edit).
   */
  async provideBins(requested: number | undefined, resource: string): Promise<PgBinaries> {
    const major = this.major(requested);
    if (this.#bins?.major === major) return this.#bins;
    if (!this.#o.distribution.locate(major)) this.#o.events.emit({ type: "data:installing", scope: this.scope(resource), data: { kind: "postgres", resource, major } });
    this.#bins = await this.#o.distribution.provide(major, resource);
    return this.#bins;
  }

  instance(id: string): PgInstance {
    return new PgInstance({ name: this.#o.environment, dir: join(this.#o.rootDir, "instances", id), bins: this.bins(), runAs: this.#o.runAs });
  }

  /** The store of `instance` (default: the live server's): each server archives into its own. */
  store(instance = this.state.live): BackupStore {
    if (!instance) throw new BerthError("BERTH_DATA_NOT_RUNNING", { kind: "postgres", name: this.#o.environment });
    return new BackupStore(join(this.#o.storeDir, instance));
  }

  /** Every store of this database's history, by instance id. */
  stores(): Map<string, BackupStore> {
    const out = new Map<string, BackupStore>();
    if (!existsSync(this.#o.storeDir)) return out;
    for (const d of readdirSync(this.#o.storeDir, { withFileTypes: true })) {
      if (!d.isDirectory()) continue;
      const s = new BackupStore(join(this.#o.storeDir, d.name));
      if (s.exists) out.set(d.name, s);
    }
    return out;
  }

  /** The stores as the pure planners see them. */
  views(): StoreView[] {
    return [...this.stores().values()].map((s) => ({ meta: s.meta(), backups: s.list().filter((b) => b.kind === "base"), points: s.points() }));
  }

  get archiveScript(): string {
    return join(this.#o.rootDir, "archive-wal.sh");
  }

  get restoreScript(): string {
    return join(this.#o.rootDir, "restore-wal.sh");
  }

  /** Whether the WAL archive is on: some database of this server keeps point-in-time recovery. */
  get pitr(): boolean {
    return this.state.databases.length === 0 || this.state.databases.some((d) => d.pitr !== false);
  }

  startSettings(store: BackupStore): Omit<InstanceStart, "recovery"> {
    const allow = [...new Set(this.state.databases.flatMap((d) => d.allowList))];
    return {
      hba: this.state.databases.map((d) => ({ database: d.database, user: d.user })),
      allowList: allow,
      archive: this.pitr ? { script: this.archiveScript, dir: store.walDir, timeoutMs: this.#o.archiveTimeoutMs } : undefined,
    };
  }

  /** Directories the `postgres` user must traverse; created (or opened up to traversal) here. */
  #prepareRoot(): void {
    for (const d of [this.#o.rootDir, this.#o.storeDir, join(this.#o.rootDir, "instances"), join(this.#o.rootDir, "scratch")]) {
      mkdirSync(d, { recursive: true });
      chmodSync(d, 0o711);
    }
    for (const [path, text] of [
      [this.archiveScript, renderArchiveScript()],
      [this.restoreScript, renderRestoreScript()],
    ] as const) {
      writeFileSync(path, text, { mode: 0o755 });
      chmodSync(path, 0o755);
    }
  }

  /** Refuses to go on without the data: an alert (once) and an error naming the way back. */
  #lost(resource: string, reason: "missing" | "foreign", path: string, detail: string): BerthError {
    if (!this.#raised.has(`lost:${path}`)) {
      this.#raised.add(`lost:${path}`);
      this.#o.events.emit({ type: "data:datadir:failed", scope: this.scope(resource), data: { kind: "postgres", resource, path, reason, detail } });
    }
    return new BerthError("BERTH_DATA_DIR_LOST", { name: resource, reason: reason === "missing" ? "missing" : "foreign", path: `${path} (${detail})` });
  }

  /**
   * Starts the live server, creating it only the first time; adopts one left running; idempotent.
   * A provisioned database whose data directory is gone or foreign is an error, never an initdb.
   */
  async ensureLive(requested: number | undefined, resource: string): Promise<PgInstance> {
    const major = this.major(requested);
    if (requested !== undefined && requested !== major && !this.#raised.has(`major:${requested}`)) {
      this.#raised.add(`major:${requested}`);
      this.#o.events.emit({ type: "data:warning", scope: this.scope(resource), data: { resource, message: `runs PostgreSQL ${major}; the blueprint asks for ${requested}, and a blueprint edit never changes a major: run \`berth db upgrade ${resource} --to ${requested}\`` } });
    }
    if (this.live?.running) {
      // Running: only a change of its own settings (archive on/off, allow-list) restarts it.
      const reason = this.live.configChange(this.startSettings(this.store()), this.live.port);
      if (!reason) return this.live;
      this.#o.events.emit({ type: "data:restarting", scope: this.scope(resource), data: { kind: "postgres", resource, reason } });
      await this.live.stop();
      this.live = undefined;
    }
    const bins = await this.provideBins(requested, resource);
    this.#prepareRoot();
    this.#closed = false;
    let fresh = false;
    if (!this.state.live) {
      const history = [...this.stores().values()].filter((s) => s.list().length > 0 || s.walSegments().length > 0);
      if (history.length > 0) {
        throw this.#lost(resource, "missing", join(this.#o.rootDir, "state.json"), `no server is recorded here, but ${this.#o.storeDir} holds the backups of ${history.length} earlier server(s)`);
      }
      this.state.live = newId("pg");
      this.state.major = bins.major;
      fresh = true;
    }
    const inst = this.instance(this.state.live);
    const store = this.store();
    if (fresh) {
      await inst.init();
      this.state.systemId = await inst.systemId();
      this.save();
      store.prepare(this.#o.runAs);
      store.saveMeta({ instance: store.instance, liveFrom: new Date(this.#o.now()).toISOString(), timeline: 1, ...(this.state.systemId ? { systemId: this.state.systemId } : {}) });
    } else {
      if (!inst.initialized) throw this.#lost(resource, "missing", inst.dataDir, "no PG_VERSION: the directory was deleted or never restored");
      const id = await inst.systemId();
      if (this.state.systemId && id !== this.state.systemId) throw this.#lost(resource, "foreign", inst.dataDir, `system identifier ${id}, expected ${this.state.systemId}`);
      if (!this.state.systemId && id) {
        this.state.systemId = id;
        this.save();
      }
      store.prepare(this.#o.runAs);
    }
    const settings = this.startSettings(store);
    const adopted = await inst.adopt(settings, this.state.port);
    if (adopted.adopted) {
      this.#o.events.emit({ type: "data:adopted", scope: this.scope(resource), data: { kind: "postgres", resource, port: inst.port, pid: inst.pid } });
    } else {
      if (adopted.reason) this.#o.events.emit({ type: "data:restarting", scope: this.scope(resource), data: { kind: "postgres", resource, reason: adopted.reason } });
      const port = await inst.start(settings, this.state.port);
      // archive_timeout is the checkpointer's job, and after crash recovery PostgreSQL 15's
      // checkpointer may have computed its sleep while recovery was still in progress: it then
      // sleeps a whole checkpoint_timeout without honouring archive_timeout (seen: no segment
      // archived for 90 s, 1 start in 3). A checkpoint request wakes it to recompute.
      await inst.query("CHECKPOINT").catch(() => {});
      if (this.state.port !== port) {
        this.state.port = port;
        this.save();
      }
      this.#o.events.emit({ type: "data:started", scope: this.scope(resource), data: { kind: "postgres", resource, port, pid: inst.pid } });
    }
    this.live = inst;
    this.#watch(inst, resource);
    if (this.state.upgrading) await undoUpgrade(this, inst, resource, this.#o.events); // a daemon died mid-upgrade
    await this.#resumeOthers(settings);
    this.#startMonitor(resource);
    return inst;
  }

  /** Restores kept with --keep and servers still retiring come back (or are adopted) too. */
  async #resumeOthers(settings: Omit<InstanceStart, "recovery">): Promise<void> {
    const others = [...this.state.kept.map((k) => ({ id: k.restore, port: k.port, map: this.kept })), ...(this.state.retiring ?? []).map((r) => ({ id: r.instance, port: r.port, map: this.retiring }))];
    for (const o of others) {
      if (o.map.get(o.id)?.running) continue;
      const inst = this.instance(o.id);
      if (!inst.initialized) continue;
      const s = o.map === this.kept ? { ...settings, archive: undefined } : this.startSettings(this.store(o.id));
      const a = await inst.adopt(s, o.port).catch(() => ({ adopted: false }));
      if (!a.adopted) await inst.start(s, o.port).catch(() => {});
      if (inst.running) o.map.set(o.id, inst);
    }
  }

  /** A postmaster that exits unasked is an alert, and is started again at once (with backoff). */
  #watch(inst: PgInstance, resource: string): void {
    const proc = inst.process;
    if (!proc) return;
    void proc.exited.then(({ code, signal }) => {
      if (this.#closed || proc.stopping || this.live !== inst) return;
      const now = Date.now();
      this.#crashes = { count: now - this.#crashes.at < 60_000 ? this.#crashes.count + 1 : 1, at: now };
      const retryInMs = Math.min(60_000, CRASH_BACKOFF_MS * 2 ** (this.#crashes.count - 1));
      const how = signal ?? (code !== null ? `code ${code}` : "no exit status: adopted from a previous daemon");
      const detail = `postmaster ${proc.pid} exited (${how}): ${logTail(inst.logPath, 2).replace(/\n/g, " | ")}`;
      this.#o.events.emit({ type: "data:server:failed", scope: this.scope(resource), data: { kind: "postgres", resource, pid: proc.pid, detail, retryInMs } });
      const restart = () =>
        this.#o.lock
          .run(async () => {
            if (this.#closed || this.live !== inst) return;
            this.live = undefined;
            await this.ensureLive(undefined, resource);
          })
          .catch((e: Error) => {
            if ((e as BerthError).code === "BERTH_DATA_DIR_LOST" || this.#closed) return;
            this.#o.events.emit({ type: "data:warning", scope: this.scope(resource), data: { resource, message: `restart after the crash failed (next try in ${retryInMs} ms): ${e.message}` } });
            setTimeout(restart, retryInMs).unref();
          });
      setTimeout(restart, retryInMs).unref();
    });
  }

  /** Rewrites pg_hba/PgBouncer for the current databases and reloads, each only when it changed. */
  async applyAccess(inst: PgInstance): Promise<void> {
    const s = this.startSettings(this.store());
    const hbaPath = join(inst.dataDir, "pg_hba.conf");
    const hba = renderHba(s.hba, s.allowList);
    if (!existsSync(hbaPath) || readFileSync(hbaPath, "utf8") !== hba) {
      writeOwned(hbaPath, hba, 0o600, this.#o.runAs);
      await inst.query("SELECT pg_reload_conf()");
    }
    const pooled = this.state.databases.filter((d) => d.pooled);
    if (pooled.length === 0) {
      await this.bouncer?.stop();
      return;
    }
    if (!this.bouncer) {
      const dir = join(this.#o.rootDir, "bouncer");
      mkdirOwned(dir, 0o700, this.#o.runAs);
      this.bouncer = new Bouncer({ name: this.#o.environment, dir, runAs: this.#o.runAs, port: this.state.bouncerPort ?? 0 });
    }
    const verifiers = await inst.query<{ rolname: string; rolpassword: string }>("SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY($1)", [pooled.map((d) => d.user)]);
    const byUser = new Map(verifiers.map((v) => [v.rolname, v.rolpassword]));
    await this.bouncer.apply(
      pooled.map((d) => ({ database: d.database, user: d.user, verifier: byUser.get(d.user) ?? "" })),
      inst.port,
    );
    if (this.state.bouncerPort !== this.bouncer.port) {
      this.state.bouncerPort = this.bouncer.port;
      this.save();
    }
  }

  #startMonitor(resource: string): void {
    if (this.#monitor || this.#o.monitorIntervalMs <= 0) return;
    this.#monitor = setInterval(() => void this.#check(resource).catch(() => {}), this.#o.monitorIntervalMs);
    this.#monitor.unref();
  }

  /** Once per monitor interval: the data directory, the archiver, and servers waiting to retire. */
  async #check(resource: string): Promise<void> {
    const inst = this.live;
    if (this.#closed || !inst?.running) return;
    if (!existsSync(join(inst.dataDir, "PG_VERSION"))) {
      // Deleted under a running server: it serves from open files until its next checkpoint, and
      // what it writes now is lost. Stop it and say so; never initdb in its place.
      await this.#o.lock.run(async () => {
        if (this.live !== inst) return;
        this.live = undefined;
        await inst.stop();
        this.#lost(resource, "missing", inst.dataDir, "deleted while the server was running; the server was stopped");
      });
      return;
    }
    if (this.pitr) {
      await this.checkArchive(resource);
    }
    if (this.retiring.size > 0 && !this.#o.lock.busy) await this.#o.lock.run(() => this.retire(resource));
  }

  /**
   * The archiver's health: failing archive_command and WAL unarchived for longer than twice
   * archive_timeout (the RPO goal) are alerts, raised once per episode.
   */
  async checkArchive(resource: string): Promise<ArchiveStatus & { missed: boolean }> {
    const inst = this.live;
    if (!inst?.running) throw new BerthError("BERTH_DATA_NOT_RUNNING", { kind: "postgres", name: resource });
    const a = await archiveStatus(inst, this.#o.now());
    const limitMs = 2 * this.#o.archiveTimeoutMs;
    this.#alert(a.failing, "archive-failing", () =>
      this.#o.events.emit({ type: "backup:archive:failed", scope: this.scope(resource), data: { resource, detail: `archive_command fails; see ${inst.logPath}`, lastFailedWal: a.lastFailedWal } }),
    );
    const missed = a.failing || a.unarchivedAgeMs > limitMs;
    this.#alert(missed, "archive-lag", () =>
      this.#o.events.emit({ type: "backup:archive:missed", scope: this.scope(resource), data: { resource, ageMs: a.unarchivedAgeMs, limitMs, lastArchivedAt: a.lastArchivedAt } }),
    );
    return { ...a, missed };
  }

  /** Raises an alert when `on` turns true; a lasting condition is not re-reported every check. */
  #alert(on: boolean, key: string, emit: () => void): void {
    if (on && !this.#raised.has(key)) {
      this.#raised.add(key);
      emit();
    } else if (!on) this.#raised.delete(key);
  }

  /**
   * Makes `inst` (a promoted restore) the live server. The old one keeps running for the service
   * instances still connected to it, and retires once they moved on (retire()).
   */
  promote(inst: PgInstance, resource: string): void {
    const old = this.live;
    if (old?.running && this.state.live) {
      this.retiring.set(this.state.live, old);
      this.state.retiring = [...(this.state.retiring ?? []).filter((r) => r.instance !== this.state.live), { instance: this.state.live, port: old.port, since: new Date(this.#o.now()).toISOString() }];
    }
    if (this.state.live) {
      const s = this.store(this.state.live);
      if (s.exists) s.saveMeta({ ...s.meta(), retiredAt: new Date(this.#o.now()).toISOString() });
    }
    this.live = inst;
    this.state.live = inst.dir.split("/").pop()!;
    this.state.port = inst.port;
    this.save();
    this.#watch(inst, resource);
  }

  /**
   * Stops replaced servers no service uses any more (no client but the superuser), or that have
   * waited retireAfterMs: their last WAL is archived first, their directories stay.
   */
  async retire(resource: string): Promise<void> {
    for (const r of [...(this.state.retiring ?? [])]) {
      const inst = this.retiring.get(r.instance);
      let reason: string | undefined;
      if (!inst?.running) reason = "not running";
      else if (this.#o.now() - Date.parse(r.since) > this.#o.retireAfterMs) reason = `still used after ${Math.round(this.#o.retireAfterMs / 1000)} s`;
      else {
        const [c] = await inst.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND usename <> 'postgres'").catch(() => [{ n: "0" }]);
        if (Number(c?.n) === 0) reason = "no service uses it any more";
      }
      if (!reason) continue;
      if (inst?.running) {
        if (this.pitr) await flushArchive(inst, this.store(r.instance).walDir, resource).catch(() => {});
        await inst.stop();
      }
      this.retiring.delete(r.instance);
      this.state.retiring = (this.state.retiring ?? []).filter((x) => x.instance !== r.instance);
      this.save();
      this.#o.events.emit({ type: "data:retired", scope: this.scope(resource), data: { kind: "postgres", resource, instance: r.instance, port: r.port, reason } });
    }
  }

  /** Stops every server (data stays on disk). */
  async stop(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#monitor);
    this.#monitor = undefined;
    await this.bouncer?.stop();
    for (const k of [...this.kept.values(), ...this.retiring.values()]) await k.stop();
    await this.live?.stop();
    if (this.live) this.#o.events.emit({ type: "data:stopped", scope: this.scope(), data: { kind: "postgres", resource: this.#o.environment } });
  }

  /** Forgets the servers without stopping them: the next daemon adopts them. */
  detach(): void {
    this.#closed = true;
    clearInterval(this.#monitor);
    this.#monitor = undefined;
    this.bouncer?.detach();
    for (const k of [...this.kept.values(), ...this.retiring.values()]) k.detach();
    this.live?.detach();
    this.live = undefined;
  }
}
