/**
 * Following a recorded operation (issue 15) from the CLI: poll `GET /v1/operations/:id` until it
 * has finished, reporting each new progress step. The daemon carries the operation out whether or
 * not anyone waits; Ctrl-C stops only the waiting.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { BerthError } from "../core/errors.ts";
import type { ApiClient } from "./client.ts";

/** An operation as the API answers it (src/api/routes/operations.ts). */
export interface OperationOut {
  id: string;
  kind: string;
  key: string;
  project: string | null;
  environment: string | null;
  state: "pending" | "running" | "succeeded" | "failed" | "cancelled";
  params: unknown;
  progress: { step: string; detail: string; done?: number; total?: number; at: string } | null;
  result: unknown;
  error: { code: string; message: string; hint: string } | null;
  attempts: number;
  createdBy: string;
  createdAt: string;
  startedAt: string | null;
  updatedAt: string;
  finishedAt: string | null;
}

/** One line for an operation's progress, e.g. `git-deploy: sync production (1/2)`. */
export function describeOperation(op: OperationOut): string {
  const p = op.progress;
  const counts = p?.total !== undefined ? ` (${(p.done ?? 0) + (op.state === "running" ? 1 : 0)}/${p.total})` : "";
  const where = p ? `${p.step}${p.detail ? ` ${p.detail}` : ""}${counts}` : "";
  return `${op.kind} ${op.id}: ${op.state}${where ? ` — ${where}` : ""}${op.error ? ` — ${op.error.message}` : ""}`;
}

export async function waitForOperation(client: ApiClient, id: string, onProgress: (line: string) => void, timeoutMs = 60 * 60_000): Promise<OperationOut> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const op = await client.request<OperationOut>("GET", `/v1/operations/${encodeURIComponent(id)}`);
    const line = describeOperation(op);
    if (line !== last) onProgress(line);
    last = line;
    if (op.state !== "pending" && op.state !== "running") return op;
    await sleep(250);
  }
  throw new BerthError("BERTH_OPERATION_FAILED", { operation: id, kind: "wait", detail: `not finished within ${timeoutMs} ms; it keeps running in the daemon` });
}

/** Throws the operation's own error (as BERTH_OPERATION_FAILED) unless it succeeded. */
export function requireSucceeded(op: OperationOut): OperationOut {
  if (op.state === "succeeded") return op;
  throw new BerthError("BERTH_OPERATION_FAILED", { operation: op.id, kind: op.kind, detail: op.error ? `${op.error.message} [${op.error.code}]` : op.state });
}
