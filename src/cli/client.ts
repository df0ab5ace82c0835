/**
 * The CLI's HTTP client, and the config file `berth login` writes (mode 0600, in the user's
 * config dir). Which daemon a command talks to is decided in context.ts.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { BerthError, reviveError } from "../core/errors.ts";

export interface Credentials {
  readonly url: string;
  readonly token: string;
}

export function cliConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.BERTH_CLI_CONFIG ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "berth", "cli.json");
}

export function saveCredentials(creds: Credentials, path = cliConfigPath()): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(creds, null, 2)}\n`, { mode: 0o600 });
}

export function readCredentialsFile(path: string): Credentials | undefined {
  if (!existsSync(path)) return undefined;
  const data = JSON.parse(readFileSync(path, "utf8")) as Partial<Credentials>;
  return data.url && data.token ? { url: data.url, token: data.token } : undefined;
}

/** Turns an API error body back into the catalogue error it came from. */
function toError(status: number, body: unknown): BerthError {
  const e = (body as { error?: { code?: string; message?: string; hint?: string; details?: unknown[] } }).error;
  // The daemon rendered message and hint with the error's params, which the wire does not carry.
  const revived = e?.code ? reviveError({ ...e, code: e.code }) : undefined;
  if (revived) return revived;
  return new BerthError("BERTH_INTERNAL", { detail: `HTTP ${status}` });
}

export class ApiClient {
  readonly creds: Credentials;
  constructor(creds: Credentials) {
    this.creds = creds;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.creds.url), {
        method,
        headers: { authorization: `Bearer ${this.creds.token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (e) {
      const cause = (e as Error & { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new BerthError("BERTH_DAEMON_UNREACHABLE", { url: this.creds.url, detail: cause });
    }
    const text = await res.text();
    const data = text ? (JSON.parse(text) as unknown) : null;
    if (!res.ok) throw toError(res.status, data);
    return data as T;
  }

  /** Reads a streaming response line by line (ndjson or server-sent events). */
  async *lines(path: string, signal?: AbortSignal): AsyncGenerator<string> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.creds.url), { headers: { authorization: `Bearer ${this.creds.token}` }, ...(signal ? { signal } : {}) });
    } catch (e) {
      if (signal?.aborted) return;
      throw new BerthError("BERTH_DAEMON_UNREACHABLE", { url: this.creds.url, detail: (e as Error).message });
    }
    if (!res.ok || !res.body) throw toError(res.status, JSON.parse((await res.text()) || "{}"));
    const decoder = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of res.body) {
        buf += decoder.decode(chunk as Uint8Array, { stream: true });
        let i = buf.indexOf("\n");
        while (i >= 0) {
          yield buf.slice(0, i);
          buf = buf.slice(i + 1);
          i = buf.indexOf("\n");
        }
      }
    } catch (e) {
      if (!signal?.aborted) throw e;
    }
  }
}
