/**
 * The HTTP-01 responder: answers `/.well-known/acme-challenge/<token>` with the key
 * authorization the ACME client registered. HAProxy's HTTP listener sends that path here, so a
 * challenge is answered on port 80 without touching any service.
 */
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { Endpoint } from "../../engine/engine.ts";

const PREFIX = "/.well-known/acme-challenge/";

export class ChallengeResponder {
  readonly #tokens = new Map<string, string>();
  #server: Server | undefined;
  #port = 0;

  get endpoint(): Endpoint {
    return { host: "127.0.0.1", port: this.#port };
  }

  set(token: string, keyAuthorization: string): void {
    this.#tokens.set(token, keyAuthorization);
  }

  delete(token: string): void {
    this.#tokens.delete(token);
  }

  async start(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      const url = req.url ?? "";
      const answer = url.startsWith(PREFIX) ? this.#tokens.get(url.slice(PREFIX.length)) : undefined;
      res.writeHead(answer === undefined ? 404 : 200, { "content-type": "text/plain" });
      res.end(answer ?? "unknown challenge");
    });
    server.listen(port, "127.0.0.1");
    await once(server, "listening");
    this.#port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
