import type { BerthEvent } from "./types.ts";

export type { BerthEvent } from "./types.ts";

/**
 * The dashboard's only door to Berth: the public HTTP API under /v1 (scripts/check-deps.ts keeps
 * every fetch and EventSource in this file). The session cookie rides along on same-origin
 * requests; every request carries the CSRF header the daemon requires of cookie mutations.
 */

/** An API error as the daemon's error catalogue describes it. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly hint: string;
  constructor(status: number, code: string, message: string, hint: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.hint = hint;
  }
}

type Method = "GET" | "POST" | "PUT" | "DELETE";

let unauthenticated: () => void = () => {};
/** What to do when the session is gone (expired, logged out elsewhere, token revoked): the app shows the login. */
export function onUnauthenticated(handler: () => void): void {
  unauthenticated = handler;
}

/** Calls `/v1/...`; resolves to the parsed JSON body (null for 204), throws ApiError otherwise. */
export async function api<T>(method: Method, path: `/v1/${string}`, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { "x-berth-csrf": "1", accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, { method, credentials: "same-origin", headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  if (res.status === 204) return null as T;
  const json = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string; hint?: string } } | null;
  if (res.status === 401 && path !== "/v1/session") unauthenticated();
  if (!res.ok) {
    const e = json?.error;
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? res.statusText, e?.hint ?? "");
  }
  return json as T;
}

/** Newline-delimited JSON (logs): one parsed object per line. */
export async function apiLines<T>(path: `/v1/${string}`): Promise<T[]> {
  const res = await fetch(path, { credentials: "same-origin", headers: { "x-berth-csrf": "1" } });
  if (!res.ok) throw new ApiError(res.status, `HTTP_${res.status}`, res.statusText, "");
  const text = await res.text();
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}

/**
 * Follows a newline-delimited JSON stream (`logs?follow=true`) until `signal` aborts: one call
 * of `onItem` per line as it arrives.
 */
export async function followLines<T>(path: `/v1/${string}`, onItem: (item: T) => void, signal: AbortSignal): Promise<void> {
  const res = await fetch(path, { credentials: "same-origin", headers: { "x-berth-csrf": "1" }, signal });
  if (!res.ok || !res.body) throw new ApiError(res.status, `HTTP_${res.status}`, res.statusText, "");
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let rest = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const parts = (rest + value).split("\n");
      rest = parts.pop() ?? "";
      for (const p of parts) if (p) onItem(JSON.parse(p) as T);
    }
  } catch (e) {
    if (!signal.aborted) throw e;
  }
}

/** Path segments are user data: always encoded. */
export const seg = (s: string): string => encodeURIComponent(s);


/**
 * Event types the dashboard reacts to. The stream names each SSE event by its type, and
 * EventSource delivers a named event only to a listener for that name.
 */
export const WATCHED_TYPES = [
  "deploy:started", "deploy:step", "deploy:live", "deploy:failed", "deploy:rollback", "deploy:redeploy", "deploy:release:created", "deploy:build:started",
  "instance:started", "instance:healthy", "instance:unhealthy", "instance:exited", "instance:restarting", "instance:crash-looping", "instance:stopped", "instance:failed", "instance:oom",
  "cron:run:claimed", "cron:run:started", "cron:run:succeeded", "cron:run:failed", "cron:run:timeout", "cron:run:skipped",
  "backup:started", "backup:completed", "backup:failed", "restore:started", "restore:completed", "restore:failed", "drill:passed", "drill:failed",
  "alert:firing", "alert:resolved",
] as const;

type Listener = (e: BerthEvent) => void;
const listeners = new Set<Listener>();
let source: EventSource | undefined;
let opening = false;

/**
 * Subscribes to the live event stream: one EventSource for the whole app, opened on the first
 * subscriber from the newest event on (no replay of history), fanned out to every listener.
 * Returns the unsubscribe. EventSource reconnects by itself, resuming from the last event id.
 */
export function onEvent(listener: Listener): () => void {
  listeners.add(listener);
  if (!source && !opening) void openStream();
  return () => listeners.delete(listener);
}

async function openStream(): Promise<void> {
  opening = true;
  const latest = await api<BerthEvent[]>("GET", "/v1/events?limit=1").catch(() => [] as BerthEvent[]);
  const es = new EventSource(`/v1/events/stream?after=${latest[0]?.seq ?? 0}&type=${WATCHED_TYPES.join(",")}`);
  const dispatch = (m: Event) => {
    try {
      const e = JSON.parse((m as MessageEvent<string>).data) as BerthEvent;
      for (const l of listeners) l(e);
    } catch {
      /* a malformed event is skipped; the next one carries on */
    }
  };
  for (const t of WATCHED_TYPES) es.addEventListener(t, dispatch);
  // A refused stream (401 after the session ended) is closed for good, not retried: the next
  // subscriber opens a new one. Network errors are retried by EventSource itself.
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED && source === es) source = undefined;
  };
  source = es;
  opening = false;
}

/** Closes the stream (logout). */
export function closeStream(): void {
  source?.close();
  source = undefined;
}
