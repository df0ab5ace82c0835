/**
 * Progress for the data CLI's long operations. Backups, restores, drills and recoveries are
 * recorded operations the daemon carries out; the CLI follows the operation and meanwhile polls
 * the event log for the `backup:*` / `restore:*` / `drill:*` events of that environment. After a promoted restore it follows the services'
 * rolling restarts (deploy events) until each is live, or fails loudly.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { BerthError, reviveError } from "../../core/errors.ts";
import type { BerthEvent } from "../../core/events.ts";
import type { ApiClient } from "../client.ts";
import { type OperationOut, waitForOperation } from "../operation-wait.ts";
import { describeProgress, lastSeq } from "../wait.ts";

/** One line for a data event, or undefined for events the user need not see. */
export function describeDataEvent(e: BerthEvent): string | undefined {
  const d = e.data as Record<string, unknown>;
  const r = d.resource ?? "";
  switch (e.type) {
    case "backup:started":
      return `${r}: ${d.kind} backup ${d.backup} started`;
    case "backup:completed":
      return `${r}: backup ${d.backup} done, ${d.sizeBytes} bytes, ${d.verified ? "verified" : "NOT verified"} (${d.ms} ms)`;
    case "backup:failed":
      return `${r}: backup ${d.backup} FAILED: ${d.reason}`;
    case "restore:started":
      return `${r}: restoring to ${d.target} (${d.restore})`;
    case "restore:completed":
      return `${r}: restored on port ${d.port}${d.promoted ? ", promoted" : ""} (${d.ms} ms)`;
    case "restore:failed":
      return `${r}: restore FAILED: ${d.reason}`;
    case "drill:started":
      return `${r}: drill ${d.drill} restoring ${d.target}`;
    case "drill:passed":
      return `${r}: drill passed: ${d.tables} tables match, RTO ${d.rtoMs} ms, RPO ${d.rpoMs} ms`;
    case "drill:failed":
      return `${r}: drill FAILED: ${d.reason}`;
    case "data:warning":
      return `${r}: warning: ${d.message}`;
  }
  return undefined;
}

/** Data providers label events `project/environment`; the rest of Berth scopes them separately. */
const ofEnv = (e: BerthEvent, project: string, environment: string) =>
  e.scope.environment === `${project}/${environment}` || (e.scope.project === project && e.scope.environment === environment);

async function eventsAfter(client: ApiClient, seq: number): Promise<BerthEvent[]> {
  return client.request<BerthEvent[]>("GET", `/v1/events?after=${seq}&limit=500`);
}

/**
 * Runs `op` (one long API request) while showing the environment's data events. Progress is
 * best-effort: a failed poll never fails the operation, whose own result decides.
 */
export async function withDataProgress<T>(client: ApiClient, where: { project: string; environment: string }, onLine: (line: string) => void, op: () => Promise<T>): Promise<T> {
  let seq = await lastSeq(client).catch(() => Number.MAX_SAFE_INTEGER);
  let running = true;
  const drain = async () => {
    for (const e of await eventsAfter(client, seq)) {
      seq = Math.max(seq, e.seq);
      const line = ofEnv(e, where.project, where.environment) ? describeDataEvent(e) : undefined;
      if (line) onLine(line);
    }
  };
  const poller = (async () => {
    while (running) {
      await sleep(300);
      if (running) await drain().catch(() => {});
    }
  })();
  try {
    return await op();
  } finally {
    running = false;
    await poller;
    await drain().catch(() => {});
  }
}

/**
 * Follows a data operation (recorded by one of the data routes, answered 202) to its end while
 * showing the environment's data events and the operation's steps. A failed operation throws
 * the error it failed with, under its own code (so `db restore` to a time before every backup
 * still exits 2, a failed drill 1): the catalogue code is carried on the operation row.
 */
export async function runDataOperation<T>(client: ApiClient, where: { project: string; environment: string }, onLine: (line: string) => void, post: () => Promise<OperationOut>): Promise<T> {
  const op = await withDataProgress(client, where, onLine, async () => waitForOperation(client, (await post()).id, onLine));
  if (op.state === "succeeded") return op.result as T;
  const e = op.error;
  const revived = e ? reviveError(e) : undefined;
  if (revived) throw revived;
  throw new BerthError("BERTH_OPERATION_FAILED", { operation: op.id, kind: op.kind, detail: e ? `${e.message} [${e.code}]` : op.state });
}

/**
 * After a promote: waits until every service in `services` went live on a new release (their
 * rolling restart onto the restored server), showing deploy progress. Throws on a failed deploy
 * or when `timeoutMs` passes.
 */
export async function waitForSwitch(
  client: ApiClient,
  where: { project: string; environment: string; resource: string; afterSeq: number },
  services: readonly string[],
  onLine: (line: string) => void,
  timeoutMs = 10 * 60_000,
): Promise<void> {
  const pending = new Set(services);
  let seq = where.afterSeq;
  const deadline = Date.now() + timeoutMs;
  const fail = (detail: string) => new BerthError("BERTH_DATACLI_SWITCH_FAILED", { name: where.resource, detail, environment: where.environment });
  while (pending.size > 0) {
    if (Date.now() > deadline) throw fail(`still waiting for ${[...pending].join(", ")} after ${timeoutMs} ms`);
    for (const e of await eventsAfter(client, seq)) {
      seq = Math.max(seq, e.seq);
      if (e.scope.project !== where.project || e.scope.environment !== where.environment) continue;
      const line = describeProgress(e);
      if (line) onLine(line);
      const service = String(e.scope.service ?? (e.data as { service?: string }).service ?? "");
      if (e.type === "deploy:live") pending.delete(service);
      if (e.type === "deploy:failed" && pending.has(service)) throw fail(`${service}: ${(e.data as { reason?: string }).reason ?? "deploy failed"}`);
    }
    if (pending.size > 0) await sleep(300);
  }
}
