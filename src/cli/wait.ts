/**
 * Waits for an environment to settle after a sync, showing deploy progress from the event log.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { BerthError } from "../core/errors.ts";
import type { BerthEvent } from "../core/events.ts";
import type { ApiClient } from "./client.ts";
import type { EnvStatus } from "./commands/status.ts";
import { FailureTails, type Tail } from "./failure-tail.ts";

const PAGE = 1000;
/** Identical reconcile failures in a row after which waiting stops. */
const GIVE_UP_AFTER = 3;

const SHOWN = new Set(["deploy:build:started", "deploy:release:created", "deploy:step", "deploy:live", "deploy:failed", "reconcile:failed", "data:installing"]);

export function describeProgress(e: BerthEvent): string | undefined {
  if (!SHOWN.has(e.type)) return undefined;
  const d = e.data as Record<string, unknown>;
  const svc = e.scope.service ?? d.service ?? "";
  switch (e.type) {
    case "deploy:build:started":
      return `${svc}: building`;
    case "deploy:release:created":
      return `${svc}: release #${d.release} ready (${d.ms} ms)`;
    case "deploy:step":
      return `${svc}: ${d.step} ${d.detail ? `— ${d.detail}` : ""} (${d.ms} ms)`;
    case "deploy:live":
      return `${svc}: live (release #${d.release})`;
    case "deploy:failed":
      return `${svc}: FAILED at ${d.step}: ${d.reason}`;
    case "reconcile:failed":
      return `reconcile failed: ${d.reason} (retrying in ${d.retryInMs} ms)`;
    case "data:installing":
      return `${d.resource}: installing PostgreSQL ${d.major} from the npm registry (first use)`;
  }
  return undefined;
}

export interface WaitOptions {
  /** One line per deploy step, build start, failure... (rewritten in place on a TTY). */
  readonly onProgress?: (line: string) => void;
  /** A lasting block: the tail of a failed step's output (see failure-tail.ts). */
  readonly onFailure?: (service: string, tail: Tail) => void;
  readonly timeoutMs?: number;
  /** Settled when this holds; default: the generation is reconciled and nothing is in progress. */
  readonly settled?: (env: EnvStatus) => boolean;
}

export async function waitForEnvironment(
  client: ApiClient,
  target: { project: string; environment: string; generation: number; afterSeq: number },
  opts: WaitOptions = {},
): Promise<EnvStatus> {
  const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
  const settled = opts.settled ?? ((env: EnvStatus) => env.reconciledGeneration >= target.generation && !["pending", "reconciling", "stopping"].includes(env.status));
  const tails = new FailureTails(client, target);
  // A failure the reconciler retries prints its tail once, not once per attempt.
  const shown = new Map<string, string>();
  // The daemon retries a failed reconcile for ever (level-based); the CLI stops waiting when the
  // same reason comes back: it needs a change from the user, not more time.
  let lastReason = "";
  let repeats = 0;
  const deadline = Date.now() + timeoutMs;
  let seq = target.afterSeq;
  const path = `/v1/projects/${encodeURIComponent(target.project)}/environments/${encodeURIComponent(target.environment)}`;
  while (Date.now() < deadline) {
    // The API returns the newest PAGE events after `seq`: a build logging faster than that per
    // poll loses its oldest lines here, never the failure or the tail the user needs.
    const events = await client.request<BerthEvent[]>(
      "GET",
      `/v1/events?after=${seq}&project=${encodeURIComponent(target.project)}&environment=${encodeURIComponent(target.environment)}&limit=${PAGE}`,
    );
    for (const e of events) {
      seq = Math.max(seq, e.seq);
      tails.observe(e);
      if (e.type === "reconcile:failed") {
        const reason = String((e.data as { reason?: unknown }).reason ?? "");
        repeats = reason === lastReason ? repeats + 1 : 1;
        lastReason = reason;
        if (repeats >= GIVE_UP_AFTER) {
          throw new BerthError("BERTH_RECONCILE_FAILED", { environment: `${target.project}/${target.environment}`, step: "reconcile", detail: `${reason} (${repeats} attempts; the daemon keeps retrying)` });
        }
        if (repeats > 1) continue;
      }
      const line = describeProgress(e);
      if (line) opts.onProgress?.(line);
      if (e.type === "deploy:failed" && opts.onFailure) {
        const service = e.scope.service ?? String((e.data as { service?: unknown }).service ?? "");
        const tail = await tails.tail(e);
        const key = JSON.stringify(tail);
        if (shown.get(service) !== key) opts.onFailure(service, tail);
        shown.set(service, key);
      }
    }
    const env = await client.request<EnvStatus>("GET", path);
    if (settled(env)) return env;
    await sleep(250);
  }
  throw new BerthError("BERTH_RECONCILE_FAILED", { environment: `${target.project}/${target.environment}`, step: "wait", detail: `not settled within ${timeoutMs} ms` });
}

/** Highest event sequence number now, so progress shows only what follows. */
export async function lastSeq(client: ApiClient): Promise<number> {
  const last = await client.request<BerthEvent[]>("GET", "/v1/events?limit=1");
  return last.at(-1)?.seq ?? 0;
}
