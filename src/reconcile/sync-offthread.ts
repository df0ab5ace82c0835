/**
 * Runs sync-prepare.ts in a worker thread (issue 15): a 5,000-service blueprint takes seconds to
 * parse, validate and resolve, and the daemon must keep answering meanwhile. The host policy
 * depends on the project named inside the blueprint and is read from the store, so the worker asks
 * for it over a channel and blocks (Atomics.wait) until this thread has answered: only the worker
 * waits, never the event loop.
 */
import { MessageChannel, Worker } from "node:worker_threads";
import type { HostPolicy } from "../blueprint/index.ts";
import { BerthError, type ErrorCode, type ErrorParams } from "../core/errors.ts";
import type { PrepareInput, Prepared } from "./sync-prepare.ts";

/** What the worker posts back. */
export type WorkerAnswer = { ok: true; prepared: Prepared } | { ok: false; code: ErrorCode; params: ErrorParams; details: unknown[] | null };

/** A policy answer (or the error reading it) sent over the policy channel. */
export type PolicyAnswer = { ok: true; host: HostPolicy } | { ok: false; message: string };

export function prepareInWorker(input: PrepareInput, hostPolicy: ((project: string) => HostPolicy) | undefined): Promise<Prepared> {
  const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  const worker = new Worker(new URL(`./sync-worker${ext}`, import.meta.url));
  const channel = new MessageChannel();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  channel.port1.on("message", (project: string) => {
    let answer: PolicyAnswer;
    try {
      answer = { ok: true, host: hostPolicy!(project) };
    } catch (e) {
      answer = { ok: false, message: e instanceof Error ? e.message : String(e) };
    }
    channel.port1.postMessage(answer);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  });
  return new Promise<Prepared>((resolve, reject) => {
    worker.once("message", (m: WorkerAnswer) => {
      if (m.ok) resolve(m.prepared);
      else reject(new BerthError(m.code, m.params, m.details ? { details: m.details } : {}));
    });
    worker.once("error", (e: Error) => reject(new BerthError("BERTH_INTERNAL", { detail: `sync worker: ${e.message}` }, { cause: e })));
    worker.once("exit", (code) => reject(new BerthError("BERTH_INTERNAL", { detail: `sync worker exited with code ${code}` })));
    const policy = hostPolicy ? { port: channel.port2, flag } : undefined;
    worker.postMessage({ input, policy }, policy ? [channel.port2] : []);
  }).finally(() => {
    channel.port1.close();
    void worker.terminate();
  });
}
