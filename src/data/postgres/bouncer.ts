/**
 * PgBouncer in front of an environment's server, for `pooled` databases. It authenticates
 * clients and logs in to PostgreSQL with the same SCRAM verifiers, so no plaintext password is
 * written anywhere. Like PostgreSQL it refuses to run as root.
 */
import { existsSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { BerthError } from "../../core/errors.ts";
import { freePort } from "../net.ts";
import { logTail, type RunAs, ServerProcess, stopOrphan, waitReady } from "../proc.ts";
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

  /** (Re)starts PgBouncer with the given databases; keeps the port across restarts. */
  async apply(entries: readonly BouncerEntry[], serverPort: number): Promise<number> {
    await this.stop();
    const pidFile = join(this.dir, "pgbouncer.pid");
    await stopOrphan(pidFile, "pgbouncer", "SIGINT");
    const port = this.#port || (await freePort());
    const ini = join(this.dir, "pgbouncer.ini");
    const users = join(this.dir, "userlist.txt");
    const log = join(this.dir, "pgbouncer.log");
    writeOwned(users, renderBouncerUsers(entries.map((e) => ({ user: e.user, verifier: e.verifier }))), 0o600, this.runAs);
    writeOwned(ini, renderBouncerIni({ listenPort: port, serverPort, authFile: users, pidFile, databases: entries.map((e) => e.database) }), 0o600, this.runAs);
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
}
