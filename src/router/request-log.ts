/**
 * Receives HAProxy's request logs on a loopback UDP socket (HAProxy logs over syslog datagrams;
 * Node has no unix datagram sockets) and feeds them into the metrics store.
 */
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { parseRequestLog, type RequestLogEntry } from "./request-metrics.ts";

export class RequestLogReceiver {
  readonly #onEntry: (e: RequestLogEntry) => void;
  #socket: Socket | undefined;
  #port = 0;

  constructor(onEntry: (e: RequestLogEntry) => void) {
    this.#onEntry = onEntry;
  }

  /** `127.0.0.1:port` for HAProxy's `log` line. */
  get target(): string {
    return `127.0.0.1:${this.#port}`;
  }

  async start(port = 0): Promise<void> {
    const socket = createSocket("udp4");
    socket.on("message", (msg) => {
      for (const line of msg.toString("utf8").split("\n")) {
        const entry = parseRequestLog(line);
        if (entry) this.#onEntry(entry);
      }
    });
    socket.bind(port, "127.0.0.1");
    await once(socket, "listening");
    this.#port = socket.address().port;
    this.#socket = socket;
  }

  async stop(): Promise<void> {
    const s = this.#socket;
    this.#socket = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
