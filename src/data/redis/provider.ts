/**
 * The Redis resource provider: one `redis-server` (OS package) per keyValue resource, loopback
 * only, maxmemory + eviction policy, persistence rdb / aof / none, a generated password (stored
 * hashed in an ACL line), RDB backups (BGSAVE, checked with redis-check-rdb, copied to the
 * store) and restores of an RDB into a new instance. Runs as the `redis` OS user under root.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { redisClient } from "../../core/redis-client.ts";
import { BerthError, isBerthError } from "../../core/errors.ts";
import type { EventSink } from "../../core/events.ts";
import { newId } from "../../core/ids.ts";
import { freePort } from "../net.ts";
import { Mutex } from "../lock.ts";
import { livePid, logTail, runAsFor, runProgram, ServerProcess, stopOrphan, waitReady } from "../proc.ts";
import type { BackupRecord, ConnectionProps, HealthReport, Provisioned, ResourceProvider, RestoreResult, RestoreTarget } from "../provider.ts";
import { backupId, mkdirOwned, sizeOf, writeOwned } from "../files.ts";
import { generatePassword } from "../secret.ts";
import { renderRedisConf, settingsChange, sha256Hex } from "./config.ts";
import { type RedisInput, type ResolvedRedisInput, resolveRedisInput } from "./input.ts";

export interface RedisProviderOptions {
  readonly environment: string;
  readonly rootDir: string;
  readonly storeDir: string;
  readonly events: EventSink;
  readonly now?: () => number;
  readonly serverBin?: string;
}

interface ResourceState {
  input: ResolvedRedisInput;
  live: string;
  port: number;
  passwordSha256: string;
}

interface Running {
  proc: ServerProcess;
  port: number;
  dir: string;
}

/** A restart after a crash waits this long times 2^(crashes in a row - 1), at most a minute. */
const CRASH_BACKOFF_MS = 1000;

/** INFO section text -> fields. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0 && !line.startsWith("#")) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

export class RedisProvider implements ResourceProvider<RedisInput> {
  readonly kind = "redis" as const;
  readonly #o: RedisProviderOptions & { now: () => number; serverBin: string };
  readonly #runAs = runAsFor("redis");
  readonly #running = new Map<string, Running>();
  readonly #locks = new Map<string, Mutex>();
  readonly #crashes = new Map<string, { count: number; at: number }>();
  #major: number | undefined;
  /** Set by stop()/detach(): exits after that are not crashes. */
  #closed = false;

  constructor(opts: RedisProviderOptions) {
    this.#o = { ...opts, now: opts.now ?? Date.now, serverBin: opts.serverBin ?? "/usr/bin/redis-server" };
  }

  #dir(name: string): string {
    return join(this.#o.rootDir, name);
  }

  #state(name: string): ResourceState | undefined {
    const p = join(this.#dir(name), "state.json");
    return existsSync(p) ? (JSON.parse(readFileSync(p, "utf8")) as ResourceState) : undefined;
  }

  #save(name: string, s: ResourceState): void {
    writeFileSync(join(this.#dir(name), "state.json"), `${JSON.stringify(s, null, 2)}\n`, { mode: 0o600 });
  }

  #require(name: string): ResourceState {
    const s = this.#state(name);
    if (!s) throw new BerthError("BERTH_NOT_FOUND", { kind: "keyValue", name });
    return s;
  }

  #scope(name: string) {
    return { environment: this.#o.environment, service: name };
  }

  #lock(name: string): Mutex {
    const m = this.#locks.get(name) ?? new Mutex();
    this.#locks.set(name, m);
    return m;
  }

  #confPath(dir: string): string {
    return join(dir, "..", `${dir.split("/").pop()}.conf`);
  }

  /** Starts a redis-server for `dir`; retries on a port clash when no port was fixed. */
  async #start(name: string, input: ResolvedRedisInput, dir: string, port: number, passwordSha256: string, persistence?: ResolvedRedisInput["persistence"]): Promise<Running> {
    mkdirOwned(dir, 0o700, this.#runAs);
    const log = join(dir, "..", `${dir.split("/").pop()}.log`);
    const pidFile = join(dir, "redis.pid");
    await stopOrphan(pidFile, "redis-server", "SIGTERM");
    for (let attempt = 0; attempt < 3; attempt++) {
      const p = port || (await freePort());
      const conf = this.#confPath(dir);
      writeOwned(conf, renderRedisConf(input, { port: p, dir, pidFile, passwordSha256, ...(persistence ? { persistence } : {}) }), 0o600, this.#runAs);
      const proc = ServerProcess.start(this.#o.serverBin, [conf], { runAs: this.#runAs, logPath: log });
      const ok = await waitReady(() => this.#ping(p), { deadlineMs: 30_000, proc });
      if (ok) return { proc, port: p, dir };
      await proc.stop("SIGKILL", 2000);
      if (!port && /Address already in use/.test(logTail(log))) continue;
      throw new BerthError("BERTH_DATA_START_FAILED", { kind: "redis", name, detail: logTail(log, 3), logPath: log });
    }
    throw new BerthError("BERTH_DATA_START_FAILED", { kind: "redis", name, detail: "no free port after 3 attempts", logPath: log });
  }

  /**
   * Makes the resource's live server run `input`: a running server whose configuration file
   * already says exactly that is left alone (clients keep their connections and a
   * `persistence: none` cache keeps its keys); one a previous daemon left running is adopted by
   * its pid file; only a change of its own settings restarts it, with the reason in an event.
   */
  async #ensureRunning(name: string, input: ResolvedRedisInput, state: ResourceState): Promise<{ run: Running; started: boolean }> {
    const dir = join(this.#dir(name), state.live);
    const pidFile = join(dir, "redis.pid");
    const current = this.#running.get(name);
    const port = current?.proc.running ? current.port : state.port;
    const desired = port ? renderRedisConf(input, { port, dir, pidFile, passwordSha256: state.passwordSha256 }) : "";
    const onDisk = existsSync(this.#confPath(dir)) ? readFileSync(this.#confPath(dir), "utf8") : "";
    const change = port ? settingsChange(onDisk, desired) : "first start";
    if (current?.proc.running) {
      if (!change) return { run: current, started: false };
      this.#o.events.emit({ type: "data:restarting", scope: this.#scope(name), data: { kind: "redis", resource: name, reason: change } });
      await current.proc.stop("SIGTERM", 30_000);
    } else {
      const pid = livePid(pidFile, "redis-server");
      if (pid !== undefined && !change && (await this.#ping(port))) {
        const run = { proc: ServerProcess.adopt(pid, "redis-server"), port, dir };
        this.#watch(name, run);
        this.#o.events.emit({ type: "data:adopted", scope: this.#scope(name), data: { kind: "redis", resource: name, port, pid } });
        return { run, started: false };
      }
      if (pid !== undefined) this.#o.events.emit({ type: "data:restarting", scope: this.#scope(name), data: { kind: "redis", resource: name, reason: change ?? "not answering" } });
    }
    const run = await this.#start(name, input, dir, state.port, state.passwordSha256);
    this.#watch(name, run);
    this.#o.events.emit({ type: "data:started", scope: this.#scope(name), data: { kind: "redis", resource: name, port: run.port, pid: run.proc.pid } });
    return { run, started: true };
  }

  /** A server that exits without being asked is an alert, and is started again (with backoff). */
  #watch(name: string, run: Running): void {
    this.#running.set(name, run);
    void run.proc.exited.then(async ({ code, signal }) => {
      if (this.#closed || run.proc.stopping || this.#running.get(name) !== run) return;
      const prev = this.#crashes.get(name);
      const count = prev && Date.now() - prev.at < 60_000 ? prev.count + 1 : 1;
      this.#crashes.set(name, { count, at: Date.now() });
      const retryInMs = Math.min(60_000, CRASH_BACKOFF_MS * 2 ** (count - 1));
      this.#o.events.emit({ type: "data:server:failed", scope: this.#scope(name), data: { kind: "redis", resource: name, pid: run.proc.pid, detail: `exited (${signal ?? `code ${code ?? "?"}`}): ${logTail(join(run.dir, "..", `${run.dir.split("/").pop()}.log`), 2)}`, retryInMs } });
      await new Promise((r) => setTimeout(r, retryInMs).unref());
      if (this.#closed || this.#running.get(name) !== run) return;
      await this.#lock(name)
        .run(async () => {
          const s = this.#state(name);
          if (s && this.#running.get(name) === run) this.#save(name, { ...s, port: (await this.#ensureRunning(name, s.input, s)).run.port });
        })
        .catch((e: Error) => this.#o.events.emit({ type: "data:warning", scope: this.#scope(name), data: { resource: name, message: `restart after a crash failed: ${e.message}` } }));
    });
  }

  /** Raw unauthenticated PING over TCP: a NOAUTH reply still proves the server is up. */
  #ping(port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const sock = createConnection({ host: "127.0.0.1", port });
      const done = (ok: boolean) => {
        sock.destroy();
        resolve(ok);
      };
      sock.setTimeout(2000, () => done(false));
      sock.on("error", () => done(false));
      sock.on("connect", () => sock.write("PING\r\n"));
      sock.on("data", (d) => done(/^(\+PONG|-NOAUTH)/.test(d.toString())));
    });
  }

  /** An authenticated admin client; the caller disconnects it. */
  async #client(name: string, password?: string): Promise<Redis> {
    const r = this.#running.get(name);
    if (!r?.proc.running) throw new BerthError("BERTH_DATA_NOT_RUNNING", { kind: "redis", name });
    const c = await redisClient({ host: "127.0.0.1", port: r.port, password });
    await c.connect();
    return c;
  }

  async #version(name: string): Promise<number> {
    if (this.#major === undefined) {
      const version = (await runProgram(this.#o.serverBin, ["--version"], { name })).stdout.match(/v=(\d+)\.(\d+)/);
      this.#major = version ? Number(version[1]) : 0;
    }
    return this.#major;
  }

  async provision(input: RedisInput, opts: { readonly password?: string; readonly signal?: AbortSignal } = {}): Promise<Provisioned> {
    const r = resolveRedisInput(input);
    opts.signal?.throwIfAborted();
    const major = await this.#version(r.name);
    return this.#lock(r.name).run(async () => {
      this.#closed = false;
      mkdirSync(this.#o.rootDir, { recursive: true, mode: 0o711 });
      mkdirSync(this.#dir(r.name), { recursive: true, mode: 0o711 });
      const password = opts.password ?? generatePassword();
      const prev = this.#state(r.name);
      const state: ResourceState = { input: r, live: prev?.live ?? newId("rd").replace("rd_", "rd-"), port: prev?.port ?? 0, passwordSha256: sha256Hex(password) };
      const { run, started } = await this.#ensureRunning(r.name, r, state);
      const changed = !prev || started || JSON.stringify(prev.input) !== JSON.stringify(r) || prev.port !== run.port || prev.passwordSha256 !== state.passwordSha256;
      if (changed) {
        this.#save(r.name, { ...state, port: run.port });
        if (r.version !== undefined && r.version !== major) this.#o.events.emit({ type: "data:warning", scope: this.#scope(r.name), data: { resource: r.name, message: `Redis ${r.version} is not installed; using ${major}` } });
        this.#o.events.emit({ type: "data:provisioned", scope: this.#scope(r.name), data: { kind: "redis", resource: r.name, port: run.port, version: String(major) } });
      }
      return { connection: await this.connection(r.name, password), passwordGenerated: opts.password === undefined, version: String(major) };
    });
  }

  /** The pid of the resource's live server (tests and `kv info` compare it across reconciles). */
  pid(name: string): number | undefined {
    const r = this.#running.get(name);
    return r?.proc.running ? r.proc.pid : undefined;
  }

  async connection(name: string, password: string): Promise<ConnectionProps> {
    const s = this.#require(name);
    const port = this.#running.get(name)?.port ?? s.port;
    return { connectionString: `redis://default:${encodeURIComponent(password)}@127.0.0.1:${port}`, host: "127.0.0.1", port, user: "default", password };
  }

  /** `berth kv info`: INFO fields plus the effective memory settings (CONFIG GET). */
  async info(name: string, password: string): Promise<Record<string, string>> {
    const c = await this.#client(name, password);
    try {
      const info = parseInfo(await c.info());
      const cfg = (await c.config("GET", "maxmemory*")) as string[];
      const appendonly = (await c.config("GET", "appendonly")) as string[];
      for (let i = 0; i + 1 < cfg.length; i += 2) info[cfg[i]!] = cfg[i + 1]!;
      info.appendonly = appendonly[1] ?? "";
      return info;
    } finally {
      c.disconnect();
    }
  }

  #store(name: string): string {
    const d = join(this.#o.storeDir, name);
    mkdirSync(d, { recursive: true, mode: 0o700 });
    return d;
  }

  /** BGSAVE, wait for it, check the file with redis-check-rdb, copy it into the store. */
  backup(name: string, password?: string): Promise<BackupRecord> {
    return this.#lock(name).run(() => this.#backup(name, password));
  }

  async #backup(name: string, password?: string): Promise<BackupRecord> {
    const s = this.#require(name);
    const id = backupId("r", this.#o.now());
    const started = this.#o.now();
    const scope = this.#scope(name);
    this.#o.events.emit({ type: "backup:started", scope, data: { resource: name, backup: id, kind: "rdb" } });
    const path = join(this.#store(name), `${id}.rdb`);
    try {
      if (!password) throw new BerthError("BERTH_DATA_BACKUP_FAILED", { name, detail: "the resource password is needed to run BGSAVE", storeDir: this.#o.storeDir });
      const c = await this.#client(name, password);
      try {
        const before = Number(await c.lastsave());
        await c.bgsave().catch((e: Error) => {
          if (!/already in progress/.test(e.message)) throw e;
        });
        const done = await waitReady(
          async () => {
            const i = parseInfo(await c.info("persistence"));
            return i.rdb_bgsave_in_progress === "0" && Number(i.rdb_last_save_time) >= before;
          },
          { deadlineMs: 30 * 60_000, intervalMs: 50 },
        );
        const info = parseInfo(await c.info("persistence"));
        if (!done || info.rdb_last_bgsave_status !== "ok") throw new Error(`BGSAVE status ${info.rdb_last_bgsave_status ?? "unknown"}`);
      } finally {
        c.disconnect();
      }
      copyFileSync(join(this.#dir(name), s.live, "dump.rdb"), path);
      await runProgram("/usr/bin/redis-check-rdb", [path], { name });
      const record: BackupRecord = { id, kind: "rdb", resource: name, startedAt: new Date(started).toISOString(), finishedAt: new Date(this.#o.now()).toISOString(), sizeBytes: sizeOf(path), path, verified: true };
      writeFileSync(`${path}.json`, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
      this.#o.events.emit({ type: "backup:completed", scope, data: { resource: name, backup: id, kind: "rdb", sizeBytes: record.sizeBytes, ms: this.#o.now() - started, verified: true } });
      return record;
    } catch (e) {
      rmSync(path, { force: true });
      const err = isBerthError(e) ? e : new BerthError("BERTH_DATA_BACKUP_FAILED", { name, detail: (e as Error).message, storeDir: this.#o.storeDir }, { cause: e });
      this.#o.events.emit({ type: "backup:failed", scope, data: { resource: name, backup: id, kind: "rdb", reason: err.message } });
      throw err;
    }
  }

  async backups(name: string): Promise<BackupRecord[]> {
    this.#require(name);
    const d = this.#store(name);
    return readdirSync(d)
      .filter((f) => f.endsWith(".rdb.json"))
      .map((f) => JSON.parse(readFileSync(join(d, f), "utf8")) as BackupRecord)
      .sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
  }

  /**
   * Loads an RDB backup into a new instance (AOF, if configured, is switched on after the load).
   * `promote` makes it the resource's server (the old one is stopped, its directory kept).
   */
  restore(name: string, target: RestoreTarget, opts: { readonly mode: "promote" | "keep"; readonly password?: string }): Promise<RestoreResult> {
    return this.#lock(name).run(() => this.#restore(name, target, opts));
  }

  async #restore(name: string, target: RestoreTarget, opts: { readonly mode: "promote" | "keep"; readonly password?: string }): Promise<RestoreResult> {
    const s = this.#require(name);
    if (s.input.persistence === "aof" && !opts.password) throw new BerthError("BERTH_DATA_RESTORE_TARGET_INVALID", { name, target: target.kind, detail: "restoring an AOF resource needs its password (to switch AOF on after loading the RDB)" });
    const all = await this.backups(name);
    const b = target.kind === "backup" ? all.find((x) => x.id === target.backup) : target.kind === "latest" ? all.at(-1) : undefined;
    if (!b) throw new BerthError("BERTH_DATA_RESTORE_TARGET_INVALID", { name, target: target.kind, detail: target.kind === "backup" || target.kind === "latest" ? "no such RDB backup" : "Redis restores to an RDB backup, not to a point in time" });
    const t0 = Date.now();
    const { restore, run, dir } = await this.#startFromRdb(name, s, b.path, opts);
    return { restore, target, backup: b.id, port: run.port, dataDir: dir, mode: opts.mode, ms: Date.now() - t0 };
  }

  /**
   * Issue 19, `fork` previews: this resource's data becomes a copy of another Redis server's
   * (`source`, typically the parent environment's). The copy is taken over the replication
   * protocol (`redis-cli --rdb`: the source forks a child that streams one consistent RDB
   * snapshot; its dataset, configuration and persistence files are not changed), checked with
   * redis-check-rdb, and loaded into a new server directory that replaces this resource's
   * server (promote). `workPath`: where the snapshot is written (the caller removes it).
   */
  forkFrom(source: { readonly host: string; readonly port: number; readonly password: string }, name: string, password: string, workPath: string, timeoutMs = 10 * 60_000): Promise<{ keys: number; bytes: number; ms: number }> {
    return this.#lock(name).run(async () => {
      const s = this.#require(name);
      const t0 = Date.now();
      const scope = this.#scope(name);
      await runProgram("/usr/bin/redis-cli", ["-h", source.host, "-p", String(source.port), "--no-auth-warning", "--rdb", workPath], {
        name,
        env: { REDISCLI_AUTH: source.password },
        timeoutMs,
        secrets: [source.password],
      });
      await runProgram("/usr/bin/redis-check-rdb", [workPath], { name });
      const { run } = await this.#startFromRdb(name, s, workPath, { mode: "promote", password });
      const c = await redisClient({ host: "127.0.0.1", port: run.port, password });
      let keys = 0;
      try {
        await c.connect();
        keys = await c.dbsize();
      } finally {
        c.disconnect();
      }
      this.#o.events.emit({ type: "data:provisioned", scope, data: { kind: "redis", resource: name, port: run.port, version: String(await this.#version(name)) } });
      return { keys, bytes: sizeOf(workPath), ms: Date.now() - t0 };
    });
  }

  /** A new server directory started from an RDB file; `promote` makes it the resource's server. Under the lock. */
  async #startFromRdb(name: string, s: ResourceState, rdbPath: string, opts: { readonly mode: "promote" | "keep"; readonly password?: string }): Promise<{ restore: string; run: Running; dir: string }> {
    const restore = newId("rd").replace("rd_", "rd-");
    const dir = join(this.#dir(name), restore);
    mkdirOwned(dir, 0o700, this.#runAs);
    writeOwned(join(dir, "dump.rdb"), "", 0o600, this.#runAs);
    copyFileSync(rdbPath, join(dir, "dump.rdb"));
    const run = await this.#start(name, s.input, dir, 0, s.passwordSha256, s.input.persistence === "aof" ? "rdb" : undefined).catch((e) => {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    });
    if (s.input.persistence === "aof") {
      await this.#enableAof(run.port, opts.password!);
      // The file now says what the server runs (AOF on), so the next provision restarts nothing.
      writeOwned(this.#confPath(dir), renderRedisConf(s.input, { port: run.port, dir, pidFile: join(dir, "redis.pid"), passwordSha256: s.passwordSha256 }), 0o600, this.#runAs);
    }
    if (opts.mode === "promote") {
      const old = this.#running.get(name);
      this.#watch(name, run);
      await old?.proc.stop("SIGTERM", 30_000);
      this.#save(name, { ...s, live: restore, port: run.port });
    } else {
      this.#running.set(`${name}/${restore}`, run);
    }
    return { restore, run, dir };
  }

  /** Turns AOF on at runtime: Redis then rewrites the AOF from memory, so the loaded RDB is kept. */
  async #enableAof(port: number, password: string): Promise<void> {
    const c = await redisClient({ host: "127.0.0.1", port, password });
    try {
      await c.connect();
      await c.config("SET", "appendonly", "yes");
      await waitReady(async () => parseInfo(await c.info("persistence")).aof_rewrite_in_progress === "0" && parseInfo(await c.info("persistence")).aof_enabled === "1", { deadlineMs: 60_000 });
    } finally {
      c.disconnect();
    }
  }

  async health(name: string): Promise<HealthReport> {
    this.#require(name);
    const r = this.#running.get(name);
    if (!r?.proc.running) return { ok: false, running: false, detail: "server not running" };
    const ok = await this.#ping(r.port).catch(() => false);
    return { ok, running: true, detail: ok ? "ok" : "no answer to PING" };
  }

  /** Forgets the servers without stopping them: a restarted daemon adopts them. */
  detach(): void {
    this.#closed = true;
    this.#running.clear();
  }

  async stop(): Promise<void> {
    this.#closed = true;
    for (const [key, r] of this.#running) {
      await r.proc.stop("SIGTERM", 30_000);
      if (!key.includes("/")) this.#o.events.emit({ type: "data:stopped", scope: this.#scope(key), data: { kind: "redis", resource: key } });
    }
    this.#running.clear();
  }

  remove(name: string, opts: { readonly withBackups?: boolean } = {}): Promise<void> {
    return this.#lock(name).run(() => this.#remove(name, opts));
  }

  async #remove(name: string, opts: { readonly withBackups?: boolean }): Promise<void> {
    for (const [key, r] of this.#running) {
      if (key === name || key.startsWith(`${name}/`)) {
        await r.proc.stop("SIGTERM", 30_000);
        this.#running.delete(key);
      }
    }
    rmSync(this.#dir(name), { recursive: true, force: true });
    if (opts.withBackups) rmSync(join(this.#o.storeDir, name), { recursive: true, force: true });
    this.#o.events.emit({ type: "data:removed", scope: this.#scope(name), data: { kind: "redis", resource: name } });
  }
}
