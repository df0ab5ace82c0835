/** Events of services that sleep when idle and wake on the first request (issue 19). */
export interface SleepEvents {
  /** No request reached the service for `idleMs` (its `sleepAfter`): desired state "asleep", its instances stop. */
  "service:asleep": { idleMs: number; sleepAfterMs: number };
  /** A request arrived while it slept: desired state "awake"; the request is held until an instance is healthy. */
  "service:waking": { reason: string };
  /** The request that woke it can be answered: an instance is healthy `ms` after the wake. */
  "service:awake": { ms: number };
}
