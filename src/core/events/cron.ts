/**
 * Events of cron jobs. The scope names the job ({project, environment, service}); `slot` is the
 * scheduled time (ISO, UTC) and `runId` the id passed to the job as BERTH_RUN_ID.
 * Alert-worthy: `cron:run:failed`, `cron:run:timeout`, `cron:slot:missed` (see `cronAlertEvents`).
 */
export interface CronEvents {
  /** A slot was claimed in the store (the exactly-once point); it starts next. */
  "cron:run:claimed": { runId: string; slot: string; trigger: string; attempt: number };
  "cron:run:started": { runId: string; slot: string; trigger: string; attempt: number; latenessMs: number };
  "cron:run:succeeded": { runId: string; slot: string; attempt: number; ms: number };
  /** The run ended badly (exit code, signal, OOM, or interrupted by a daemon crash). */
  "cron:run:failed": { runId: string; slot: string; attempt: number; exitCode: number | null; reason: string; willRetry: boolean };
  "cron:run:timeout": { runId: string; slot: string; attempt: number; timeoutMs: number; willRetry: boolean };
  "cron:run:retry": { runId: string; slot: string; attempt: number; delayMs: number };
  /** Not started because of the concurrency policy (forbid, allow's cap). */
  "cron:run:skipped": { runId: string; slot: string; reason: string };
  /** Stopped by a newer slot under the `replace` policy. */
  "cron:run:replaced": { runId: string; slot: string; byRunId: string };
  /** Claimed, then the daemon died before it started; the missed-run policy decides what runs. */
  "cron:run:abandoned": { runId: string; slot: string };
  /** Slots that did not run on time (daemon down, abandoned claims), and what the policy did. */
  "cron:slot:missed": { count: number; atLeast: boolean; first: string; last: string; policy: string; running: number };
}

/** Event types an alert rule should page on by default. */
export const cronAlertEvents = ["cron:run:failed", "cron:run:timeout", "cron:slot:missed"] as const;
