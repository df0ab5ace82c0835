/**
 * What to do when an instance exits: pure, time as data, shared by every engine that supervises
 * its own instances (local, memory) so they behave the same.
 *
 * Backoff: the first restart is immediate, then 1 s doubling up to 5 min. A run that stayed up
 * for 10 min resets the backoff. Five failures within 10 min mark the instance `crash-looping`
 * (it keeps being restarted with backoff: Berth never gives up silently).
 */
import type { RestartPolicy } from "../engine.ts";

export const BACKOFF_FIRST_MS = 1000;
export const BACKOFF_MAX_MS = 5 * 60_000;
export const BACKOFF_RESET_AFTER_MS = 10 * 60_000;
export const CRASH_LOOP_FAILURES = 5;
export const CRASH_LOOP_WINDOW_MS = 10 * 60_000;

/** Restart bookkeeping of one instance slot, carried from one run to the next. */
export interface RestartHistory {
  /** Restarts since the last reset (drives the backoff and on-failure's maxRetries). */
  readonly attempt: number;
  /** Times of failed exits inside the crash-loop window, oldest first. */
  readonly failureTimesMs: readonly number[];
}

export const freshHistory: RestartHistory = { attempt: 0, failureTimesMs: [] };

export interface ExitFacts {
  readonly code: number | null;
  readonly signal: string | null;
  /** When the run that just ended started and ended. */
  readonly startedAtMs: number;
  readonly exitedAtMs: number;
}

export interface RestartDecision {
  readonly restart: boolean;
  /** Wait before the restart; 0 = at once. */
  readonly delayMs: number;
  /** 1-based number of this restart since the last reset. */
  readonly attempt: number;
  readonly crashLooping: boolean;
  /** Failures counted in the crash-loop window. */
  readonly failures: number;
  /** Why no restart happens (shown to the user), when `restart` is false. */
  readonly reason?: string;
  readonly history: RestartHistory;
}

/** Backoff before restart number `attempt` (1-based): 0, 1 s, 2 s, 4 s, ... capped at 5 min. */
export function backoffMs(attempt: number): number {
  if (attempt <= 1) return 0;
  return Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (attempt - 2));
}

/** Decides the next step after an unexpected exit (not one the engine asked for). */
export function decideRestart(policy: RestartPolicy, exit: ExitFacts, history: RestartHistory): RestartDecision {
  const failed = exit.code !== 0 || exit.signal !== null;
  const ranMs = exit.exitedAtMs - exit.startedAtMs;
  const base = ranMs >= BACKOFF_RESET_AFTER_MS ? freshHistory : history;
  const windowStart = exit.exitedAtMs - CRASH_LOOP_WINDOW_MS;
  const failureTimesMs = [...base.failureTimesMs.filter((t) => t > windowStart), ...(failed ? [exit.exitedAtMs] : [])];
  const failures = failureTimesMs.length;
  const crashLooping = failures >= CRASH_LOOP_FAILURES;
  const attempt = base.attempt + 1;
  const next: RestartHistory = { attempt, failureTimesMs };
  const stay = (reason: string): RestartDecision => ({ restart: false, delayMs: 0, attempt: base.attempt, crashLooping, failures, reason, history: { attempt: base.attempt, failureTimesMs } });
  switch (policy.policy) {
    case "never":
      return stay("restart policy is never");
    case "on-failure":
      if (!failed) return stay("exited with code 0 and the restart policy is on-failure");
      if (base.attempt >= policy.maxRetries) return stay(`gave up after ${policy.maxRetries} restarts (on-failure, maxRetries ${policy.maxRetries})`);
      break;
    case "always":
      break;
  }
  return { restart: true, delayMs: backoffMs(attempt), attempt, crashLooping, failures, history: next };
}
