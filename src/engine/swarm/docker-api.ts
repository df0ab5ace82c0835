/**
 * A thin client for the Docker Engine API over its unix socket (node:http with `socketPath`), for
 * the dozen endpoints the Swarm engine uses. No `docker` CLI, no shell: requests are data. Why not
 * dockerode: docs/design/engine-swarm.md.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import { BerthError } from "../../core/errors.ts";

/** API version this client speaks (Docker Engine 20.10, Debian 12). */
export const DOCKER_API_VERSION = "v1.41";

export interface DockerRequest {
  readonly method?: "GET" | "POST" | "DELETE";
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  /** A raw body (a build context tar) instead of JSON. */
  readonly stream?: Readable;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

/** `filters` query parameter: `{ label: ["a=b"] }` -> JSON text. */
export function filters(f: Readonly<Record<string, readonly string[]>>): string {
  return JSON.stringify(f);
}

export class DockerApi {
  readonly socketPath: string;

  constructor(socketPath: string) {
    this.socketPath = socketPath;
  }

  /** Sends a request and returns the response once its headers arrived; throws on HTTP >= 400. */
  async open(req: DockerRequest): Promise<IncomingMessage> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) qs.set(k, String(v));
    const path = `/${DOCKER_API_VERSION}${req.path}${qs.size ? `?${qs}` : ""}`;
    const json = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: Record<string, string> = { ...(req.headers ?? {}) };
    if (json) headers["content-type"] = "application/json";
    if (req.stream) headers["content-type"] = "application/x-tar";
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const r = httpRequest({ socketPath: this.socketPath, method: req.method ?? "GET", path, headers, ...(req.signal ? { signal: req.signal } : {}) }, resolve);
      r.on("error", reject);
      if (req.stream) {
        req.stream.on("error", (e) => r.destroy(e));
        req.stream.pipe(r);
      } else r.end(json);
    }).catch((e: unknown) => {
      throw new BerthError("BERTH_SWARM_API_FAILED", { method: req.method ?? "GET", path: req.path, status: 0, detail: e instanceof Error ? e.message : String(e) }, { cause: e });
    });
    if ((res.statusCode ?? 500) >= 400) {
      const text = await readAll(res).catch(() => "");
      let detail = text.trim();
      try {
        detail = (JSON.parse(text) as { message?: string }).message ?? detail;
      } catch {}
      throw new BerthError("BERTH_SWARM_API_FAILED", { method: req.method ?? "GET", path: req.path, status: res.statusCode ?? 0, detail });
    }
    return res;
  }

  /** A JSON request; an empty body gives `undefined`. */
  async json<T>(req: DockerRequest): Promise<T> {
    const text = await readAll(await this.open(req));
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Like `json`, but a 404 gives `undefined`. */
  async find<T>(req: DockerRequest): Promise<T | undefined> {
    try {
      return await this.json<T>(req);
    } catch (e) {
      if (e instanceof BerthError && e.params.status === 404) return undefined;
      throw e;
    }
  }

  /**
   * A streaming endpoint answering JSON lines (build, push): collects them and throws the first
   * `error` one (the HTTP status is 200 even when a build step fails).
   */
  async progress(req: DockerRequest, onLine?: (line: Record<string, unknown>) => void): Promise<Record<string, unknown>[]> {
    const res = await this.open(req);
    const out: Record<string, unknown>[] = [];
    let buf = "";
    for await (const chunk of res) {
      buf += chunk.toString();
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        nl = buf.indexOf("\n");
        if (!line) continue;
        const obj = JSON.parse(line) as Record<string, unknown>;
        out.push(obj);
        onLine?.(obj);
      }
    }
    const failed = out.find((o) => o.error !== undefined || o.errorDetail !== undefined);
    if (failed) throw new BerthError("BERTH_SWARM_API_FAILED", { method: req.method ?? "POST", path: req.path, status: 200, detail: String(failed.error ?? JSON.stringify(failed.errorDetail)) });
    return out;
  }
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Splits Docker's multiplexed stdout/stderr stream (containers without a TTY) into lines: each
 * frame is an 8-byte header (stream id, 3 zero bytes, big-endian length) and its payload.
 */
export async function* demuxLines(stream: AsyncIterable<Buffer>): AsyncGenerator<{ stream: "stdout" | "stderr"; line: string }> {
  let buf: Buffer = Buffer.alloc(0);
  const partial: Record<"stdout" | "stderr", string> = { stdout: "", stderr: "" };
  for await (const chunk of stream) {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      const which = buf[0] === 2 ? "stderr" : "stdout";
      const text = partial[which] + buf.subarray(8, 8 + size).toString("utf8");
      buf = buf.subarray(8 + size);
      const lines = text.split("\n");
      partial[which] = lines.pop() ?? "";
      for (const line of lines) yield { stream: which, line };
    }
  }
  for (const which of ["stdout", "stderr"] as const) if (partial[which]) yield { stream: which, line: partial[which] };
}
