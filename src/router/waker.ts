/**
 * The waker (issue 19): the backup server of every backend whose service may sleep. While the
 * service has no instance in rotation, HAProxy sends its requests here, over a Unix socket in the
 * router's state dir. The waker asks the daemon to wake the service (`wake` records the intent
 * and waits until an instance is healthy), then proxies the held request to that instance and
 * streams the answer back: the first client sees one slow 200, not an error or a redirect.
 * Later requests go to the instance directly once the reconcile has put it in rotation.
 *
 * Why proxy rather than 307 to the same URL: a redirect needs a client that follows it (API
 * clients, webhooks and `curl` without -L do not), resends a body it may not keep, and would
 * loop back here if the router had not yet put the instance in rotation.
 */
import { once } from "node:events";
import { rmSync } from "node:fs";
import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from "node:http";
import type { Endpoint } from "../engine/engine.ts";
import { WAKE_HEADER } from "./haproxy-config.ts";

/** Wakes the service of `backend`; resolves with a healthy instance, or undefined by the deadline. */
export type WakeFn = (backend: string, signal: AbortSignal) => Promise<Endpoint | undefined>;

export interface WakerOptions {
  readonly socketPath: string;
  readonly wake: WakeFn;
  /** How long a request is held while its service starts (below HAProxy's server timeout). Default 50 s. */
  readonly holdMs?: number;
}

const HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"]);
const wakeHeader = WAKE_HEADER.toLowerCase();

export class Waker {
  readonly #o: WakerOptions;
  #server: Server | undefined;

  constructor(options: WakerOptions) {
    this.#o = options;
  }

  get socketPath(): string {
    return this.#o.socketPath;
  }

  async start(): Promise<void> {
    rmSync(this.#o.socketPath, { force: true }); // a previous daemon's socket
    const server = createServer((req, res) => void this.#handle(req, res));
    server.listen(this.#o.socketPath);
    await once(server, "listening");
    this.#server = server;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const backend = req.headers[wakeHeader];
    if (typeof backend !== "string" || !backend) {
      res.writeHead(502, { "content-type": "text/plain" }).end("no backend named\n");
      return;
    }
    const gone = new AbortController();
    res.on("close", () => gone.abort());
    const signal = AbortSignal.any([gone.signal, AbortSignal.timeout(this.#o.holdMs ?? 50_000)]);
    let target: Endpoint | undefined;
    try {
      target = await this.#o.wake(backend, signal);
    } catch {
      target = undefined;
    }
    if (gone.signal.aborted) return;
    if (!target) {
      res.writeHead(503, { "content-type": "text/plain", "retry-after": "5" }).end("the service is waking up; retry in a few seconds\n");
      return;
    }
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && k !== wakeHeader && !HOP.has(k)) headers[k] = v;
    const upstream = request({ host: target.host, port: target.port, method: req.method, path: req.url, headers }, (up) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP.has(k)) out[k] = v;
      out["x-berth-woken"] = "1"; // this request started the service (diagnostics, tests)
      res.writeHead(up.statusCode ?? 502, out);
      up.pipe(res);
    });
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end();
    });
    req.pipe(upstream);
  }
}
