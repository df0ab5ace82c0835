/** The concurrency policy as a pure decision, taken when a run is about to start. */
import type { ConcurrencyPolicy } from "./job.ts";

export type OverlapDecision =
  | { readonly kind: "start" }
  | { readonly kind: "skip"; readonly reason: string }
  /** Stop these running runs (replace policy), then start. */
  | { readonly kind: "replace"; readonly runIds: readonly string[] };

/** Decides whether a run may start given the job's runs still active in this scheduler. */
export function decideOverlap(policy: ConcurrencyPolicy, maxConcurrent: number, activeRunIds: readonly string[]): OverlapDecision {
  if (activeRunIds.length === 0) return { kind: "start" };
  if (policy === "replace") return { kind: "replace", runIds: activeRunIds };
  if (policy === "allow" && activeRunIds.length < maxConcurrent) return { kind: "start" };
  if (policy === "allow") return { kind: "skip", reason: `${activeRunIds.length} runs active, maxConcurrent is ${maxConcurrent}` };
  return { kind: "skip", reason: `previous run ${activeRunIds[0]} still running (concurrency: forbid)` };
}
