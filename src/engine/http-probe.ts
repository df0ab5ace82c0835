/**
 * One HTTP health probe, shared by the deploy gate and the local engine's continued checks.
 * Built on node:http rather than fetch: the daemon runs in V8 lite mode, where WebAssembly (and
 * so fetch's wasm HTTP parser) is unavailable.
 */
import { request } from "node:http";
import type { Endpoint } from "./engine.ts";

export interface ProbeResult {
  readonly ok: boolean;
  /** The response (`HTTP 500: db down`) or the error (`ECONNREFUSED`), shown when a gate fails. */
  readonly detail: string;
}

/** GET `path`: a 2xx/3xx answer within `timeoutMs` is healthy. Never throws. */
export function probe(endpoint: Endpoint, path: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = request({ host: endpoint.host, port: endpoint.port, path, method: "GET", timeout: timeoutMs, agent: false, headers: { "user-agent": "berth-health" } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        if (size < 512) chunks.push(c);
        size += c.length;
      });
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        const body = Buffer.concat(chunks).toString("utf8").slice(0, 200).replace(/\s+/g, " ").trim();
        resolve({ ok: status >= 200 && status < 400, detail: `HTTP ${status}${body ? `: ${body}` : ""}` });
      });
      res.on("error", (e) => resolve({ ok: false, detail: e.message }));
    });
    req.on("timeout", () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: "ETIMEDOUT" })));
    req.on("error", (e: Error & { code?: string }) => resolve({ ok: false, detail: e.code === "ETIMEDOUT" ? e.message : (e.code ?? e.message) }));
    req.end();
  });
}
