/**
 * Helpers for the router's tests: free ports, tiny backends and an HTTP client that can set
 * the Host header. Used only by `*.test.ts` files and the benchmark.
 */
import { request as httpRequest, type Agent, createServer, type Server } from "node:http";
import { once } from "node:events";
import { createServer as createNetServer } from "node:net";
import { connect as tlsConnect, type PeerCertificate } from "node:tls";

/** A port that was free a moment ago (HAProxy cannot report which port 0 became). */
export async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface TestBackend {
  readonly name: string;
  readonly port: number;
  /** Flip to make `/health` answer 503. */
  healthy: boolean;
  hits: number;
  close(): Promise<void>;
}

/** An HTTP server answering its own name; `/health` follows `healthy`. */
export async function startBackend(name: string): Promise<TestBackend> {
  const state = { healthy: true, hits: 0 };
  const server: Server = createServer((req, res) => {
    if (req.url === "/health") {
      res.writeHead(state.healthy ? 200 : 503, { "content-type": "text/plain" });
      res.end(state.healthy ? "ok" : "down");
      return;
    }
    state.hits++;
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`${name} ${req.url}`);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    name,
    port,
    get healthy() {
      return state.healthy;
    },
    set healthy(v: boolean) {
      state.healthy = v;
    },
    get hits() {
      return state.hits;
    },
    set hits(v: number) {
      state.hits = v;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface SimpleResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** GET through the router with a chosen Host header (`address`: another loopback address). */
export function get(port: number, host: string, path: string, agent?: Agent, address = "127.0.0.1"): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: address, port, path, headers: { host }, agent: agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** Polls `fn` until it returns true or the deadline passes. */
export async function eventually(fn: () => Promise<boolean> | boolean, timeoutMs = 10_000, stepMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

/** The certificate an HTTPS listener presents for `servername` (SNI), and the ALPN it picked. */
export async function peer(port: number, servername: string): Promise<{ cert: PeerCertificate; alpn: string | false }> {
  const sock = tlsConnect({ host: "127.0.0.1", port, servername, rejectUnauthorized: false, ALPNProtocols: ["h2", "http/1.1"] });
  await once(sock, "secureConnect");
  const out = { cert: sock.getPeerCertificate(), alpn: sock.alpnProtocol ?? false };
  sock.destroy();
  return out;
}
