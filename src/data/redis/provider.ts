/**
 * The Redis resource provider: one `redis-server` (OS package) per keyValue resource, loopback
 * only, maxmemory + eviction policy, persistence rdb / aof / none, a generated password (stored
 * hashed in an ACL line), RDB backups (BGSAVE, checked with redis-check-rdb, copied to the
 * store) and restores of an RDB into a new instance. Runs as the `redis` OS user under root.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { Redis } from "ioredis";
import { BerthError, isBerthError } from "../../core/errors.ts";
import type { EventSink } from "../../core/events.ts";
import { newId } from "../../core/ids.ts";
import { freePort } from "../net.ts";
import { logTail, runAsFor, runProgram, ServerProcess, stopOrphan, waitReady } from "../proc.ts";
import type { BackupRecord, ConnectionProps, HealthReport, Provisioned, ResourceProvider, RestoreResult, RestoreTarget } from "../provider.ts";
import { backupId, mkdirOwned, sizeOf, writeOwned } from "../files.ts";
import { generatePassword } from "../secret.ts";
import { renderRedisConf, sha256Hex } from "./config.ts";
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

  /** Starts a redis-server for `dir`; retries on a port clash when no port was fixed. */
  async #start(name: string, input: ResolvedRedisInput, dir: string, port: number, passwordSha256: string, persistence?: ResolvedRedisInput["persistence"]): Promise<Running> {
    mkdirOwned(dir, 0o700, this.#runAs);
    const log = join(dir, "..", `${dir.split("/").pop()}.log`);
    const pidFile = join(dir, "redis.pid");
    await stopOrphan(pidFile, "redis-server", "SIGTERM");
    for (let attempt = 0; attempt < 3; attempt++) {
      const p = port || (await freePort());
      const conf = join(dir, "..", `${dir.split("/").pop()}.conf`);
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
    const c = new Redis({ host: "127.0.0.1", port: r.port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null, ...(password ? { password } : {}) });
    c.on("error", () => {});
    await c.connect();
    return c;
  }

  async provision(input: RedisInput, opts: { readonly password?: string; readonly signal?: AbortSignal } = {}): Promise<Provisioned> {
    const r = resolveRedisInput(input);
    opts.signal?.throwIfAborted();
    const version = (await runProgram(this.#o.serverBin, ["--version"], { name: r.name })).stdout.match(/v=(\d+)\.(\d+)/);
    const major = version ? Number(version[1]) : 0;
    if (r.version !== undefined && r.version !== major) this.#o.events.emit({ type: "data:warning", scope: this.#scope(r.name), data: { resource: r.name, message: `Redis ${r.version} is not installed; using ${major}` } });
    mkdirSync(this.#o.rootDir, { recursive: true, mode: 0o711 });
    mkdirSync(this.#dir(r.name), { recursive: true, mode: 0o711 });
    const password = opts.password ?? generatePassword();
    const prev = this.#state(r.name);
    const state: ResourceState = { input: r, live: prev?.live ?? newId("rd").replace("rd_", "rd-"), port: prev?.port ?? 0, passwordSha256: sha256Hex(password) };
    // Nothing changed and it runs: keep it (a restart drops every client's connection; issue 22
    // saw one per sync under load).
    const running = this.#running.get(r.name);
    if (running?.proc.running && prev && JSON.stringify(prev.input) === JSON.stringify(r) && prev.passwordSha256 === state.passwordSha256) {
      return { connection: await this.connection(r.name, password), passwordGenerated: opts.password === undefined, version: String(major) };
    }
    // Settings or password changed: restart with the new file (Redis persists on a clean shutdown).
    await running?.proc.stop("SIGTERM", 30_000);
    const run = await this.#start(r.name, r, join(this.#dir(r.name), state.live), state.port, state.passwordSha256);
    this.#running.set(r.name, run);
    this.#save(r.name, { ...state, port: run.port });
    this.#o.events.emit({ type: "data:provisioned", scope: this.#scope(r.name), data: { kind: "redis", resource: r.name, port: run.port, version: String(major) } });
    return { connection: await this.connection(r.name, password), passwordGenerated: opts.password === undefined, version: String(major) };
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
  async backup(name: string, password?: string): Promise<BackupRecord> {
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
  async restore(name: string, target: RestoreTarget, opts: { readonly mode: "promote" | "keep"; readonly password?: string }): Promise<RestoreResult> {
    const s = this.#require(name);
    if (s.input.persistence === "aof" && !opts.password) throw new BerthError("BERTH_DATA_RESTORE_TARGET_INVALID", { name, target: target.kind, detail: "restoring an AOF resource needs its password (to switch AOF on after loading the RDB)" });
    const all = await this.backups(name);
    const b = target.kind === "backup" ? all.find((x) => x.id === target.backup) : target.kind === "latest" ? all.at(-1) : undefined;
    if (!b) throw new BerthError("BERTH_DATA_RESTORE_TARGET_INVALID", { name, target: target.kind, detail: target.kind === "backup" || target.kind === "latest" ? "no such RDB backup" : "Redis restores to an RDB backup, not to a point in time" });
    const t0 = Date.now();
    const restore = newId("rd").replace("rd_", "rd-");
    const dir = join(this.#dir(name), restore);
    mkdirOwned(dir, 0o700, this.#runAs);
    writeOwned(join(dir, "dump.rdb"), "", 0o600, this.#runAs);
    copyFileSync(b.path, join(dir, "dump.rdb"));
    const run = await this.#start(name, s.input, dir, 0, s.passwordSha256, s.input.persistence === "aof" ? "rdb" : undefined);
    if (s.input.persistence === "aof") await this.#enableAof(run.port, opts.password!);
    if (opts.mode === "promote") {
      await this.#running.get(name)?.proc.stop("SIGTERM", 30_000);
      this.#running.set(name, run);
      this.#save(name, { ...s, live: restore, port: run.port });
    } else {
      this.#running.set(`${name}/${restore}`, run);
    }
    return { restore, target, backup: b.id, port: run.port, dataDir: dir, mode: opts.mode, ms: Date.now() - t0 };
  }

  /** Turns AOF on at runtime: Redis then rewrites the AOF from memory, so the loaded RDB is kept. */
  async #enableAof(port: number, password: string): Promise<void> {
    const c = new Redis({ host: "127.0.0.1", port, password, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    c.on("error", () => {});
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

  async stop(): Promise<void> {
    for (const [key, r] of this.#running) {
      await r.proc.stop("SIGTERM", 30_000);
      if (!key.includes("/")) this.#o.events.emit({ type: "data:stopped", scope: this.#scope(key), data: { kind: "redis", resource: key } });
    }
    this.#running.clear();
  }

  async remove(name: string, opts: { readonly withBackups?: boolean } = {}): Promise<void> {
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
