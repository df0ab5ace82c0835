/**
 * Worker-thread entry of a large sync (issue 15): prepares it (sync-prepare.ts) off the daemon's
 * event loop and posts the result, or the catalogued error's code, params and details.
 */
import { parentPort } from "node:worker_threads";
import { isBerthError } from "../core/errors.ts";
import { type PrepareInput, prepareSync } from "./sync-prepare.ts";

parentPort?.once("message", (message: { input: Omit<PrepareInput, "limit">; others: Record<string, number>; maxServicesPerProject: number }) => {
  try {
    const limit = { maxServicesPerProject: message.maxServicesPerProject, others: (project: string) => message.others[project] ?? 0 };
    const prepared = prepareSync({ ...message.input, limit });
    parentPort?.postMessage({ ok: true, prepared });
  } catch (e) {
    if (isBerthError(e)) parentPort?.postMessage({ ok: false, code: e.code, params: e.params, details: e.details ?? null });
    else parentPort?.postMessage({ ok: false, code: "BERTH_INTERNAL", params: { detail: e instanceof Error ? e.message : String(e) }, details: null });
  }
});
