/**
 * Streams HAProxy's request logs into Berth. HAProxy writes each log line into an in-memory ring
 * (`ring berth_requests`); Berth keeps one runtime-API connection running `show events <ring> -w`
 * and receives the lines in batches. Compared with one syslog datagram per request, this costs
 * HAProxy a memory copy instead of a syscall and costs Node one read per batch.
 *
 * After a reload the new worker has a new, empty ring: the router calls `reattach()`.
 */
import { createConnection, type Socket } from "node:net";
import { REQUEST_RING } from "./haproxy-config.ts";
import { parseRequestLog, type RequestLogEntry } from "./request-metrics.ts";

export class RequestLogReader {
  readonly #socketPath: string;
  readonly #onEntry: (e: RequestLogEntry) => void;
  #socket: Socket | undefined;
  #running = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(socketPath: string, onEntry: (e: RequestLogEntry) => void) {
    this.#socketPath = socketPath;
    this.#onEntry = onEntry;
  }

  /** (Re)connects to the current worker and reads its ring from the start. */
  reattach(): void {
    this.#running = true;
    this.#connect(false);
  }

  #connect(onlyNew: boolean): void {
    clearTimeout(this.#retry);
    const old = this.#socket;
    this.#socket = undefined;
    old?.destroy();
    const sock = createConnection(this.#socketPath);
    this.#socket = sock;
    let partial = "";
    sock.setEncoding("utf8");
    sock.on("connect", () => sock.write(`show events ${REQUEST_RING} -w${onlyNew ? " -n" : ""}\n`));
    sock.on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        const entry = parseRequestLog(line);
        if (entry) this.#onEntry(entry);
      }
    });
    sock.on("error", () => {});
    sock.on("close", () => {
      if (this.#socket !== sock || !this.#running) return;
      // Same worker (or a restarting one): skip what was already read.
      this.#retry = setTimeout(() => this.#connect(true), 200);
    });
  }

  stop(): void {
    this.#running = false;
    clearTimeout(this.#retry);
    this.#socket?.destroy();
    this.#socket = undefined;
  }
}
