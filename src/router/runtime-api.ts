/**
 * A client for HAProxy's runtime API (the `stats socket ... level admin` unix socket). One
 * connection per command, which is how HAProxy's non-interactive mode works: it answers and
 * closes. Commands are built from validated names, never from free text.
 */
import { createConnection } from "node:net";
import { BerthError } from "../core/errors.ts";

/** One row of `show stat`, the fields Berth reads. */
export interface ServerStat {
  readonly backend: string;
  readonly server: string;
  /** `UP`, `DOWN`, `MAINT`, `DRAIN`, `UP 1/2`, `no check` ... */
  readonly status: string;
  /** Current sessions on the server. */
  readonly currentSessions: number;
  readonly totalSessions: number;
  readonly address: string;
}

const NAME = /^[A-Za-z0-9._:-]+$/;

function checkName(name: string): string {
  if (!NAME.test(name)) throw new BerthError("BERTH_ROUTER_RUNTIME_API", { command: "(invalid name)", detail: `'${name}' is not a valid HAProxy name` });
  return name;
}

/** Client of the runtime API at `socketPath`. */
export class RuntimeApi {
  readonly socketPath: string;
  readonly timeoutMs: number;

  constructor(socketPath: string, options: { timeoutMs?: number } = {}) {
    this.socketPath = socketPath;
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  /** Sends one command (and an optional `<<` payload) and returns the raw answer. */
  command(line: string, payload?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const sock = createConnection(this.socketPath);
      const chunks: Buffer[] = [];
      const fail = (detail: string, cause?: unknown): void => {
        sock.destroy();
        reject(new BerthError("BERTH_ROUTER_RUNTIME_API", { command: line.split(" ").slice(0, 3).join(" "), detail }, { cause }));
      };
      sock.setTimeout(this.timeoutMs, () => fail(`no answer within ${this.timeoutMs} ms`));
      sock.on("connect", () => {
        sock.end(payload === undefined ? `${line}\n` : `${line} <<\n${payload.replace(/\n+$/, "")}\n\n`);
      });
      sock.on("data", (c: Buffer) => chunks.push(c));
      sock.on("error", (e) => fail(e.message, e));
      sock.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
    });
  }

  /** Like `command`, but an answer that reports an error becomes a BerthError. */
  async exec(line: string, payload?: string): Promise<string> {
    const out = await this.command(line, payload);
    const first = out.trimStart().split("\n", 1)[0] ?? "";
    if (/^(Unknown command|No such|Require|Can't|Cannot|Invalid|Error|Missing|Failed|Unable|'[^']*' (expects|is not|requires)|.{0,40} expects )/i.test(first)) {
      throw new BerthError("BERTH_ROUTER_RUNTIME_API", { command: line.split(" ").slice(0, 3).join(" "), detail: out.trim().slice(0, 300) });
    }
    return out;
  }

  /** Sets a slot's address and port (the health check follows the new port). */
  setServerAddr(backend: string, server: string, host: string, port: number): Promise<string> {
    if (!/^[0-9a-fA-F.:]+$/.test(host) || !Number.isInteger(port)) {
      throw new BerthError("BERTH_ROUTER_RUNTIME_API", { command: "set server addr", detail: `bad endpoint ${host}:${port}` });
    }
    return this.exec(`set server ${checkName(backend)}/${checkName(server)} addr ${host} port ${port}`);
  }

  setServerState(backend: string, server: string, state: "ready" | "drain" | "maint"): Promise<string> {
    return this.exec(`set server ${checkName(backend)}/${checkName(server)} state ${state}`);
  }

  enableHealth(backend: string, server: string): Promise<string> {
    return this.exec(`enable health ${checkName(backend)}/${checkName(server)}`);
  }

  shutdownSessions(backend: string, server: string): Promise<string> {
    return this.exec(`shutdown sessions server ${checkName(backend)}/${checkName(server)}`);
  }

  /** Dynamic servers (`add server`): for backends without free slots. */
  addServer(backend: string, server: string, host: string, port: number, args: readonly string[] = []): Promise<string> {
    for (const a of args) checkName(a);
    return this.exec(`add server ${checkName(backend)}/${checkName(server)} ${host}:${port} ${args.join(" ")}`.trim());
  }

  enableServer(backend: string, server: string): Promise<string> {
    return this.exec(`enable server ${checkName(backend)}/${checkName(server)}`);
  }

  delServer(backend: string, server: string): Promise<string> {
    return this.exec(`del server ${checkName(backend)}/${checkName(server)}`);
  }

  /** `show info` as key/value pairs (Pid, Uptime_sec, ...). */
  async info(): Promise<Record<string, string>> {
    const out = await this.command("show info");
    const info: Record<string, string> = {};
    for (const line of out.split("\n")) {
      const i = line.indexOf(":");
      if (i > 0) info[line.slice(0, i)] = line.slice(i + 1).trim();
    }
    return info;
  }

  /** Server rows of `show stat` (frontends and backend totals left out). */
  async serverStats(): Promise<ServerStat[]> {
    const out = await this.command("show stat");
    const lines = out.split("\n").filter((l) => l.length > 0);
    const header = (lines.shift() ?? "").replace(/^# /, "").split(",");
    const col = (name: string): number => header.indexOf(name);
    const [px, sv, st, scur, stot, addr] = ["pxname", "svname", "status", "scur", "stot", "addr"].map(col) as [number, number, number, number, number, number];
    const rows: ServerStat[] = [];
    for (const l of lines) {
      const f = l.split(",");
      const server = f[sv] ?? "";
      if (server === "FRONTEND" || server === "BACKEND") continue;
      rows.push({
        backend: f[px] ?? "",
        server,
        status: f[st] ?? "",
        currentSessions: Number(f[scur] ?? 0),
        totalSessions: Number(f[stot] ?? 0),
        address: f[addr] ?? "",
      });
    }
    return rows;
  }

  async serverStat(backend: string, server: string): Promise<ServerStat | undefined> {
    return (await this.serverStats()).find((r) => r.backend === backend && r.server === server);
  }

  /** Installs or replaces a certificate in HAProxy's memory without a reload. */
  async setCertificate(certPath: string, pem: string, options: { isNew: boolean; crtList?: string }): Promise<void> {
    if (/[\s]/.test(certPath)) throw new BerthError("BERTH_ROUTER_RUNTIME_API", { command: "set ssl cert", detail: "path has whitespace" });
    if (options.isNew) await this.exec(`new ssl cert ${certPath}`);
    await this.exec(`set ssl cert ${certPath}`, pem);
    await this.exec(`commit ssl cert ${certPath}`);
    if (options.isNew && options.crtList) await this.exec(`add ssl crt-list ${options.crtList} ${certPath}`);
  }

  /** Unloads a certificate from HAProxy's memory without a reload: out of the crt-list, then deleted. */
  async deleteCertificate(certPath: string, crtList: string): Promise<void> {
    if (/[\s]/.test(certPath)) throw new BerthError("BERTH_ROUTER_RUNTIME_API", { command: "del ssl cert", detail: "path has whitespace" });
    await this.exec(`del ssl crt-list ${crtList} ${certPath}`);
    await this.exec(`del ssl cert ${certPath}`);
  }
}
