/**
 * Worker-thread entry of a large sync (issue 15, see sync-offthread.ts): prepares it
 * (sync-prepare.ts) off the daemon's event loop and posts the result, or the catalogued error's
 * code, params and details.
 */
import { type MessagePort, parentPort, receiveMessageOnPort } from "node:worker_threads";
import type { HostPolicy } from "../blueprint/index.ts";
import { BerthError, isBerthError } from "../core/errors.ts";
import type { PolicyAnswer, WorkerAnswer } from "./sync-offthread.ts";
import { type PrepareInput, prepareSync } from "./sync-prepare.ts";

/** The daemon's thread answers at once (a store read); this only bounds a lost answer. */
const POLICY_TIMEOUT_MS = 30_000;

/** Asks the daemon's thread for a project's host policy and waits for the answer. */
function askPolicy(port: MessagePort, flag: Int32Array): (project: string) => HostPolicy {
  return (project) => {
    Atomics.store(flag, 0, 0);
    port.postMessage(project);
    Atomics.wait(flag, 0, 0, POLICY_TIMEOUT_MS);
    const answer = receiveMessageOnPort(port)?.message as PolicyAnswer | undefined;
    if (!answer?.ok) throw new BerthError("BERTH_INTERNAL", { detail: `host policy of ${project}: ${answer ? answer.message : "no answer"}` });
    return answer.host;
  };
}

parentPort?.once("message", (message: { input: PrepareInput; policy?: { port: MessagePort; flag: Int32Array } }) => {
  let answer: WorkerAnswer;
  try {
    const policy = message.policy ? askPolicy(message.policy.port, message.policy.flag) : undefined;
    answer = { ok: true, prepared: prepareSync(message.input, policy ? { policy } : {}) };
  } catch (e) {
    if (isBerthError(e)) answer = { ok: false, code: e.code, params: e.params, details: e.details ? [...e.details] : null };
    else answer = { ok: false, code: "BERTH_INTERNAL", params: { detail: e instanceof Error ? e.message : String(e) }, details: null };
  }
  parentPort?.postMessage(answer);
});
