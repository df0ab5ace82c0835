/**
 * One PostgreSQL server process and its directory: the live server of an environment, a
 * restored copy beside it, or a drill's scratch copy. Runs as the `postgres` OS user when Berth
 * is root; the superuser is reached only over a private Unix socket with peer authentication.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { BerthError } from "../../core/errors.ts";
import { mkdirOwned, writeOwned } from "../files.ts";
import { freePort } from "../net.ts";
import { currentOsUser, livePid, logTail, type RunAs, runProgram, ServerProcess, stopOrphan, waitReady } from "../proc.ts";
import { hasProgram, type PgBinaries, programPath } from "./binaries.ts";
import { confChange, type HbaEntry, renderHba, renderIdent, renderServerConf, type ServerSettings } from "./config.ts";

export interface InstanceStart {
  readonly hba: readonly HbaEntry[];
  readonly allowList: readonly string[];
  readonly archive?: ServerSettings["archive"];
  readonly recovery?: ServerSettings["recovery"];
  readonly readyTimeoutMs?: number;
}

export class PgInstance {
  readonly name: string;
  readonly dir: string;
  readonly dataDir: string;
  readonly socketDir: string;
  readonly logPath: string;
  readonly bins: PgBinaries;
  readonly runAs: RunAs | undefined;
  #proc: ServerProcess | undefined;
  #port = 0;

  constructor(opts: { name: string; dir: string; bins: PgBinaries; runAs: RunAs | undefined }) {
    this.name = opts.name;
    this.dir = opts.dir;
    this.dataDir = join(opts.dir, "data");
    // A Unix socket path may be at most 107 bytes; deep data dirs get a short, stable socket dir.
    const local = join(opts.dir, "run");
    this.socketDir = local.length + "/.s.PGSQL.65535".length < 100 ? local : join(tmpdir(), `berth-pg-${createHash("sha256").update(local).digest("hex").slice(0, 16)}`);
    this.logPath = join(opts.dir, "server.log");
    this.bins = opts.bins;
    this.runAs = opts.runAs;
  }

  get port(): number {
    return this.#port;
  }

  get running(): boolean {
    return this.#proc?.running ?? false;
  }

  get pid(): number {
    return this.#proc?.pid ?? -1;
  }

  /** The running server process (spawned or adopted), for watching its exit. */
  get process(): ServerProcess | undefined {
    return this.#proc;
  }

  bin(program: string): string {
    return programPath(this.bins, program);
  }

  /** Whether this major's binaries include `program` (the npm server builds carry only the server). */
  has(program: string): boolean {
    return hasProgram(this.bins, program);
  }

  /** Directory layout, owned by the server's user; the data dir 0700 as PostgreSQL demands. */
  prepareDirs(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    mkdirOwned(this.socketDir, 0o700, this.runAs);
    if (!existsSync(this.logPath)) writeOwned(this.logPath, "", 0o600, this.runAs);
  }

  get initialized(): boolean {
    return existsSync(join(this.dataDir, "PG_VERSION"));
  }

  /**
   * initdb with data checksums (pg_amcheck and pg_verifybackup then catch corruption) and 1 MB
   * WAL segments: archive_timeout forces a segment out every minute while anything is written,
   * and a forced switch archives the whole segment, so 16 MB segments would cost up to 23 GB of
   * archive a day for a trickle of writes; 1 MB segments cost at most 1.4 GB.
   */
  async init(): Promise<void> {
    this.prepareDirs();
    if (this.initialized) return;
    mkdirOwned(this.dataDir, 0o700, this.runAs);
    await runProgram(this.bin("initdb"), ["-D", this.dataDir, "-U", "postgres", "--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--data-checksums", "--wal-segsize=1"], {
      runAs: this.runAs,
      name: this.name,
      logPath: this.logPath,
    });
  }

  /** The cluster's system identifier (pg_controldata): restores keep it, a fresh initdb does not. */
  async systemId(): Promise<string | undefined> {
    if (!this.initialized) return undefined;
    // Without pg_controldata (npm builds): the identifier is the first field of pg_control, in every major.
    if (!this.has("pg_controldata")) return readFileSync(join(this.dataDir, "global", "pg_control")).readBigUInt64LE(0).toString();
    const out = await runProgram(this.bin("pg_controldata"), ["-D", this.dataDir], { runAs: this.runAs, name: this.name, env: { LC_ALL: "C" } });
    return /Database system identifier:\s+(\d+)/.exec(out.stdout)?.[1];
  }

  /**
   * Takes over a server a previous daemon left running on this data directory, when it runs
   * exactly the configuration `s` would write (same port, same settings): no restart, clients keep
   * their connections. Otherwise says why it must restart (start() then stops it cleanly).
   */
  async adopt(s: InstanceStart, port: number): Promise<{ adopted: true } | { adopted: false; reason: string | undefined }> {
    if (this.running) return { adopted: true };
    const pid = livePid(join(this.dataDir, "postmaster.pid"), "postgres");
    if (pid === undefined) return { adopted: false, reason: undefined };
    const reason = port ? this.configChange(s, port) : "no recorded port";
    if (reason) return { adopted: false, reason };
    this.#proc = ServerProcess.adopt(pid, "postgres");
    this.#port = port;
    if (!(await waitReady(() => this.#probe(), { deadlineMs: 10_000, intervalMs: 50, proc: this.#proc }))) {
      this.#proc = undefined;
      return { adopted: false, reason: "it does not answer" };
    }
    // Access rules may have changed while no daemon watched: rewrite and reload (no restart).
    writeOwned(join(this.dataDir, "pg_hba.conf"), renderHba(s.hba, s.allowList), 0o600, this.runAs);
    await this.query("SELECT pg_reload_conf()");
    return { adopted: true };
  }

  /** Why a server running this directory's berth.conf must restart to run `s` on `port`; undefined = it need not. */
  configChange(s: InstanceStart, port: number): string | undefined {
    const conf = join(this.dataDir, "berth.conf");
    const current = existsSync(conf) ? readFileSync(conf, "utf8") : "";
    return confChange(current, renderServerConf({ port, socketDir: this.socketDir, listenAll: s.allowList.length > 0, archive: s.archive, recovery: s.recovery }));
  }

  /** Forgets the process without stopping it (the daemon stops; the next one adopts it). */
  detach(): void {
    this.#proc = undefined;
  }

  /** Makes postgresql.conf include berth.conf once (idempotent; survives into backups). */
  #ensureInclude(): void {
    const conf = join(this.dataDir, "postgresql.conf");
    const text = readFileSync(conf, "utf8");
    if (!text.includes("include_if_exists = 'berth.conf'")) writeOwned(conf, `${text}\ninclude_if_exists = 'berth.conf'\n`, 0o600, this.runAs);
  }

  /** Writes the configuration and starts the server on `port` (a free one if 0), retrying a port clash. */
  async start(s: InstanceStart, port = 0): Promise<number> {
    if (this.running) return this.#port;
    this.prepareDirs();
    this.#ensureInclude();
    writeOwned(join(this.dataDir, "pg_hba.conf"), renderHba(s.hba, s.allowList), 0o600, this.runAs);
    writeOwned(join(this.dataDir, "pg_ident.conf"), renderIdent(["root", "postgres", currentOsUser(), ...(this.runAs ? [this.runAs.user] : [])]), 0o600, this.runAs);
    // A server orphaned by a crashed daemon is stopped cleanly and started again under our supervision;
    // a stale postmaster.pid of a dead server is handled by postgres itself.
    await stopOrphan(join(this.dataDir, "postmaster.pid"), "postgres", "SIGINT");
    for (let attempt = 0; attempt < 3; attempt++) {
      const p = port || (await freePort());
      const conf = renderServerConf({ port: p, socketDir: this.socketDir, listenAll: s.allowList.length > 0, archive: s.archive, recovery: s.recovery });
      writeOwned(join(this.dataDir, "berth.conf"), conf, 0o600, this.runAs);
      const proc = ServerProcess.start(this.bin("postgres"), ["-D", this.dataDir], { runAs: this.runAs, logPath: this.logPath });
      this.#proc = proc;
      this.#port = p;
      const ok = await waitReady(() => this.#probe(), { deadlineMs: s.readyTimeoutMs ?? 60_000, proc, intervalMs: 20 });
      if (ok) return p;
      await proc.stop("SIGQUIT", 5000);
      const tail = logTail(this.logPath);
      if (!port && /could not bind|Address already in use/.test(tail)) continue;
      throw new BerthError("BERTH_DATA_START_FAILED", { kind: "postgres", name: this.name, detail: tail.split("\n").slice(-3).join(" | "), logPath: this.logPath });
    }
    throw new BerthError("BERTH_DATA_START_FAILED", { kind: "postgres", name: this.name, detail: "no free port after 3 attempts", logPath: this.logPath });
  }

  /**
   * After a restored server promoted: berth.conf says what it now is (no recovery settings), so
   * a restarted daemon finds its configuration unchanged and adopts it instead of restarting it.
   */
  settle(s: Omit<InstanceStart, "recovery">): void {
    writeOwned(join(this.dataDir, "berth.conf"), renderServerConf({ port: this.#port, socketDir: this.socketDir, listenAll: s.allowList.length > 0, archive: s.archive }), 0o600, this.runAs);
  }

  async #probe(): Promise<boolean> {
    const rows = await this.query<{ ok: number }>("SELECT 1 AS ok");
    return rows[0]?.ok === 1;
  }

  /** A superuser client over the private socket; the caller ends it. */
  async client(database = "postgres"): Promise<pg.Client> {
    const c = new pg.Client({ host: this.socketDir, port: this.#port, user: "postgres", database, connectionTimeoutMillis: 5000 });
    c.on("error", () => {});
    await c.connect();
    return c;
  }

  /** Runs one statement as the superuser. */
  async query<R extends object = Record<string, unknown>>(sql: string, params: unknown[] = [], database = "postgres"): Promise<R[]> {
    const c = await this.client(database);
    try {
      return (await c.query(sql, params)).rows as R[];
    } finally {
      await c.end().catch(() => {});
    }
  }

  /** Waits until recovery has finished and the server accepts writes. */
  async waitPromoted(timeoutMs: number): Promise<boolean> {
    return waitReady(async () => (await this.query<{ r: boolean }>("SELECT pg_is_in_recovery() AS r"))[0]?.r === false, {
      deadlineMs: timeoutMs,
      intervalMs: 20,
      ...(this.#proc ? { proc: this.#proc } : {}),
    });
  }

  /** Fast shutdown (SIGINT): aborts sessions, checkpoints, exits. */
  async stop(): Promise<void> {
    if (this.#proc) await this.#proc.stop("SIGINT", 30_000);
    // Not ours (started by an earlier daemon): stop it through its pid file.
    else await stopOrphan(join(this.dataDir, "postmaster.pid"), "postgres", "SIGINT");
    this.#proc = undefined;
  }

  /** Stops and deletes the instance directory. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
