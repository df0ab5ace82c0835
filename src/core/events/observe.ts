/** Events of alerts, autoscaling and log drains (issue 18). Scoped to the alert's or service's project. */
export interface ObserveEvents {
  "alert:firing": { alert: string; rule: string; severity: string; summary: string; value: number | null };
  "alert:resolved": { alert: string; rule: string; severity: string; summary: string; firingMs: number };
  "alert:notified": { alert: string; channel: string; state: string; attempt: number };
  "alert:notify-failed": { alert: string; channel: string; state: string; attempts: number; reason: string };
  /** Every autoscaling decision that changed the count, with the metric that caused it. */
  "autoscale:scaled": { service: string; from: number; to: number; metric: string; value: number; target: number; reason: string };
  /** The recommendation is above max: the service is pinned there. */
  "autoscale:pinned": { service: string; replicas: number; wanted: number; metric: string; value: number };
  /** A drain's buffer overflowed: the oldest lines were dropped. */
  "drain:dropped": { drain: string; lines: number; bufferLines: number };
  "drain:error": { drain: string; reason: string; pending: number };
  "drain:recovered": { drain: string; downMs: number; delivered: number };
}
