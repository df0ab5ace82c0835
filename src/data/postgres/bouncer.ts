/**
 * PgBouncer in front of an environment's server, for `pooled` databases. It authenticates
 * clients and logs in to PostgreSQL with the same SCRAM verifiers, so no plaintext password is
 * written anywhere. Like PostgreSQL it refuses to run as root.
 */
import { existsSync, readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { BerthError } from "../../core/errors.ts";
import { freePort } from "../net.ts";
import { livePid, logTail, type RunAs, ServerProcess, stopOrphan, waitReady } from "../proc.ts";
import { renderBouncerIni, renderBouncerUsers } from "./config.ts";
import { writeOwned } from "../files.ts";

export const PGBOUNCER_BIN = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"].find((p) => existsSync(p)) ?? "pgbouncer";

export interface BouncerEntry {
  readonly database: string;
  readonly user: string;
  readonly verifier: string;
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });

export class Bouncer {
  readonly dir: string;
  readonly runAs: RunAs | undefined;
  readonly name: string;
  #proc: ServerProcess | undefined;
  #port = 0;

  constructor(opts: { name: string; dir: string; runAs: RunAs | undefined; port?: number }) {
    this.name = opts.name;
    this.dir = opts.dir;
    this.runAs = opts.runAs;
    this.#port = opts.port ?? 0;
  }

  get port(): number {
    return this.#port;
  }

  /**
   * Makes PgBouncer serve `entries` in front of `serverPort`, keeping its port. Unchanged files:
   * nothing happens (pooled clients keep their connections); changed databases or users: a
   * reload (SIGHUP); not running: started, or adopted from a previous daemon with the same files.
   */
  async apply(entries: readonly BouncerEntry[], serverPort: number): Promise<number> {
    const pidFile = join(this.dir, "pgbouncer.pid");
    const port = this.#port || (await freePort());
    const ini = join(this.dir, "pgbouncer.ini");
    const users = join(this.dir, "userlist.txt");
    const log = join(this.dir, "pgbouncer.log");
    const iniText = renderBouncerIni({ listenPort: port, serverPort, authFile: users, pidFile, databases: entries.map((e) => e.database) });
    const usersText = renderBouncerUsers(entries.map((e) => ({ user: e.user, verifier: e.verifier })));
    const same = (path: string, text: string) => existsSync(path) && readFileSync(path, "utf8") === text;
    const unchanged = same(ini, iniText) && same(users, usersText);
    if (!this.#proc?.running) {
      const pid = livePid(pidFile, "pgbouncer");
      if (pid !== undefined && this.#port === port) this.#proc = ServerProcess.adopt(pid, "pgbouncer");
    }
    if (this.#proc?.running && unchanged) return port;
    writeOwned(users, usersText, 0o600, this.runAs);
    writeOwned(ini, iniText, 0o600, this.runAs);
    if (this.#proc?.running) {
      process.kill(this.#proc.pid, "SIGHUP");
      return port;
    }
    await stopOrphan(pidFile, "pgbouncer", "SIGINT");
    if (!existsSync(log)) writeOwned(log, "", 0o600, this.runAs);
    const proc = ServerProcess.start(PGBOUNCER_BIN, [ini], { runAs: this.runAs, logPath: log });
    this.#proc = proc;
    this.#port = port;
    if (!(await waitReady(() => portOpen(port), { deadlineMs: 15_000, proc }))) {
      await proc.stop("SIGINT", 2000);
      throw new BerthError("BERTH_DATA_START_FAILED", { kind: "pgbouncer", name: this.name, detail: logTail(log, 3), logPath: log });
    }
    return port;
  }

  get running(): boolean {
    return this.#proc?.running ?? false;
  }

  async stop(): Promise<void> {
    await this.#proc?.stop("SIGINT", 10_000);
    this.#proc = undefined;
  }

  /** Forgets the process without stopping it (adopted by the next daemon). */
  detach(): void {
    this.#proc = undefined;
  }
}
