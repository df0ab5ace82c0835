/**
 * What is wrong first (issue 21): the overview's ordering, as a pure function of what the API
 * returned, so it is tested with plain data. Severity order: crash loops, failed deploys, firing
 * alerts, failed backups and drills, then services short of healthy instances.
 */
import type { Alert, BerthEvent, Environment, Service } from "./types.ts";

export type ProblemKind = "crash-looping" | "deploy-failed" | "alert" | "backup-failed" | "drill-failed" | "unhealthy";

export interface Problem {
  readonly kind: ProblemKind;
  readonly project: string;
  readonly environment: string;
  /** The service or datastore it is about. */
  readonly subject: string;
  readonly detail: string;
  /** Links to the service page when the subject is a service. */
  readonly service?: string;
}

const ORDER: readonly ProblemKind[] = ["crash-looping", "deploy-failed", "alert", "backup-failed", "drill-failed", "unhealthy"];

/** An instance restarting over and over: the engine's crash-loop mark, or restarts while not healthy. */
export function crashLooping(s: Service): boolean {
  return s.instances.some((i) => i.state === "crash-looping" || (i.restarts > 0 && i.state !== "healthy"));
}

function unhealthy(s: Service): boolean {
  if (s.kind === "cron") return false;
  return s.instances.filter((i) => i.state === "healthy").length < s.replicas;
}

/** Problems of all environments, worst first; `failures` are recent backup/drill failure events. */
export function triage(environments: readonly Environment[], alerts: readonly Alert[], failures: readonly BerthEvent[]): Problem[] {
  const out: Problem[] = [];
  for (const env of environments) {
    const at = { project: env.project, environment: env.name };
    for (const s of env.services) {
      const restarts = s.instances.reduce((n, i) => n + i.restarts, 0);
      if (crashLooping(s)) out.push({ kind: "crash-looping", ...at, subject: s.name, service: s.name, detail: `${restarts} restart${restarts === 1 ? "" : "s"}; ${s.instances.map((i) => i.state).join(", ")}` });
      else if (s.failed) out.push({ kind: "deploy-failed", ...at, subject: s.name, service: s.name, detail: "the last deploy failed" });
      else if (unhealthy(s)) out.push({ kind: "unhealthy", ...at, subject: s.name, service: s.name, detail: `${s.instances.filter((i) => i.state === "healthy").length} of ${s.replicas} healthy` });
      if (crashLooping(s) && s.failed) out.push({ kind: "deploy-failed", ...at, subject: s.name, service: s.name, detail: "the last deploy failed" });
    }
  }
  for (const a of alerts) {
    if (a.state !== "firing") continue;
    out.push({ kind: "alert", project: a.project, environment: a.environment, subject: a.service || a.rule, ...(a.service ? { service: a.service } : {}), detail: `${a.severity}: ${a.summary}` });
  }
  for (const e of failures) {
    const kind = e.type.startsWith("drill:") ? "drill-failed" : "backup-failed";
    const d = e.data as { resource?: string; reason?: string };
    out.push({ kind, project: e.scope.project ?? "", environment: e.scope.environment ?? "", subject: d.resource ?? "database", detail: d.reason ?? e.type });
  }
  return out.sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind));
}

/** Labels a person reads. */
export const PROBLEM_LABEL: Record<ProblemKind, string> = {
  "crash-looping": "Crash-looping",
  "deploy-failed": "Deploy failed",
  alert: "Alert firing",
  "backup-failed": "Backup failed",
  "drill-failed": "Restore drill failed",
  unhealthy: "Unhealthy",
};

/**
 * Backup and drill failures still open: in the last day, and not followed by a success of the
 * same kind for the same datastore. `events` oldest first, as `/v1/events` returns them.
 */
export function openFailures(events: readonly BerthEvent[], nowMs: number): BerthEvent[] {
  const open = new Map<string, BerthEvent>();
  for (const e of events) {
    if (Date.parse(e.at) < nowMs - 86_400_000) continue;
    const family = e.type.startsWith("drill:") ? "drill" : "backup";
    const key = `${e.scope.project}/${e.scope.environment}/${(e.data as { resource?: string }).resource}/${family}`;
    if (e.type.endsWith(":failed")) open.set(key, e);
    else open.delete(key);
  }
  return [...open.values()];
}
