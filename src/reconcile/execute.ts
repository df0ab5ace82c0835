/**
 * Carrying out one pass of a plan, incrementally (issue 15: a 5,000-service sync froze the
 * control plane). Release steps are cut in batches (one sealing of the environment's env per
 * batch instead of one per service), applies and removals run a few at a time, and the event
 * loop gets a turn between steps, so `/healthz` and `status` keep answering while a large plan
 * is applied. Order is kept: releases, then applies, then removals (so traffic never drops
 * because a service was removed before its replacement runs).
 */
import { bounded, yieldToLoop } from "../core/concurrency.ts";
import type { PlanStep } from "./plan.ts";

export interface StepRunner {
  /** Cuts releases for these services (one batch). */
  cutReleases(serviceIds: readonly string[]): Promise<void>;
  apply(step: Extract<PlanStep, { kind: "apply" }>): Promise<void>;
  remove(step: Extract<PlanStep, { kind: "remove" }>): Promise<void>;
}

export interface ExecuteOptions {
  /** Applies or removals in flight at once. */
  readonly concurrency: number;
  /** Services per release batch. */
  readonly releaseBatch: number;
  readonly signal: AbortSignal;
  /** After each step (or each release of a batch), with its duration. */
  readonly onStep: (step: PlanStep, ms: number) => void;
  /** After each step, with how many of the pass's steps are done. */
  readonly onProgress?: (done: number, total: number) => void;
  readonly now: () => number;
}

export async function executePlan(steps: readonly PlanStep[], runner: StepRunner, o: ExecuteOptions): Promise<number> {
  const total = steps.length;
  let done = 0;
  const finished = (step: PlanStep, ms: number) => {
    done++;
    o.onStep(step, ms);
    o.onProgress?.(done, total);
  };
  const releases = steps.filter((s): s is Extract<PlanStep, { kind: "release" }> => s.kind === "release");
  for (let i = 0; i < releases.length && !o.signal.aborted; i += o.releaseBatch) {
    const batch = releases.slice(i, i + o.releaseBatch);
    const t0 = o.now();
    await runner.cutReleases(batch.map((s) => s.serviceId));
    const each = Math.round((o.now() - t0) / batch.length);
    for (const s of batch) finished(s, each);
    await yieldToLoop();
  }
  const timed = async (step: PlanStep, run: () => Promise<void>) => {
    const t0 = o.now();
    await run();
    finished(step, o.now() - t0);
  };
  const applies = steps.filter((s): s is Extract<PlanStep, { kind: "apply" }> => s.kind === "apply");
  await bounded(applies, o.concurrency, o.signal, (s) => timed(s, () => runner.apply(s)));
  const removals = steps.filter((s): s is Extract<PlanStep, { kind: "remove" }> => s.kind === "remove");
  await bounded(removals, o.concurrency, o.signal, (s) => timed(s, () => runner.remove(s)));
  return done;
}
