/**
 * Alert rules: the defaults every stack gets, and the blueprint's `alerts.rules` resolved over
 * them. A rule watches events (fires on one, resolves on another or after a quiet period) or a
 * metric (fires while a value computed over a window stays above a threshold). Pure data.
 */
import type { AlertsConfig } from "../../blueprint/types.ts";
import { durationMs, percent } from "../../blueprint/schema/fields.ts";

export type Severity = "critical" | "warning" | "info";
export type MetricName = "errorRate" | "p95" | "p99" | "cpu" | "memory" | "queue" | "restarts" | "disk";

export interface EventCondition {
  readonly kind: "event";
  readonly fire: readonly string[];
  /** Only events whose data has these values fire (`{ willRetry: false }`). */
  readonly where?: Readonly<Record<string, unknown>>;
  readonly resolve: readonly string[];
  /** Events that, while the alert is open, show the problem goes on (they restart `clearFor`). */
  readonly renew?: readonly string[];
  /** Resolve when no firing event came for this long (events with no natural "fixed" event). */
  readonly quietMs?: number;
  /** The alert is per this data field (`resource`, `domain`) rather than per service. */
  readonly keyField?: string;
}

export interface MetricCondition {
  readonly kind: "metric";
  readonly metric: MetricName;
  /** Fraction for errorRate (0.05), percent for cpu/memory, ms for p95/p99, count otherwise. */
  readonly above: number;
  readonly windowMs: number;
  /** errorRate and latency need at least this many requests in the window. */
  readonly minRequests: number;
  readonly service?: string;
}

export interface AlertRule {
  readonly name: string;
  readonly severity: Severity;
  /** Condition must hold this long before the alert fires. */
  readonly forMs: number;
  /** Condition must be clear this long before the alert resolves (no flapping). */
  readonly clearForMs: number;
  readonly when: EventCondition | MetricCondition;
  readonly channels?: readonly string[];
  readonly describe: string;
}

const ev = (fire: string[], resolve: string[], extra: Partial<EventCondition> = {}): EventCondition => ({ kind: "event", fire, resolve, ...extra });

/** The rules every stack gets without writing anything. */
export const DEFAULT_RULES: readonly AlertRule[] = [
  { name: "crash-loop", severity: "critical", forMs: 0, clearForMs: 30_000, when: ev(["instance:crash-looping"], ["instance:healthy", "deploy:live"], { quietMs: 15 * 60_000, renew: ["instance:restarting", "instance:exited"] }), describe: "An instance keeps crashing" },
  { name: "oom", severity: "warning", forMs: 0, clearForMs: 0, when: ev(["instance:oom"], [], { quietMs: 10 * 60_000 }), describe: "An instance was killed for using too much memory" },
  { name: "health-failing", severity: "warning", forMs: 30_000, clearForMs: 10_000, when: ev(["instance:unhealthy"], ["instance:healthy", "deploy:live"]), describe: "Health checks are failing" },
  { name: "instance-failed", severity: "critical", forMs: 0, clearForMs: 0, when: ev(["instance:failed"], ["instance:healthy", "deploy:live"]), describe: "An instance stopped for good" },
  { name: "deploy-failed", severity: "warning", forMs: 0, clearForMs: 0, when: ev(["deploy:failed"], ["deploy:live"]), describe: "A deploy failed" },
  { name: "cron-failed", severity: "warning", forMs: 0, clearForMs: 0, when: ev(["cron:run:failed", "cron:run:timeout"], ["cron:run:succeeded"], { where: { willRetry: false } }), describe: "A cron run failed" },
  { name: "cron-missed", severity: "warning", forMs: 0, clearForMs: 0, when: ev(["cron:slot:missed"], ["cron:run:succeeded"], { quietMs: 24 * 3_600_000 }), describe: "Cron slots did not run on time" },
  { name: "backup-failed", severity: "critical", forMs: 0, clearForMs: 0, when: ev(["backup:failed"], ["backup:completed"], { keyField: "resource" }), describe: "A database backup failed" },
  { name: "archive-lag", severity: "critical", forMs: 0, clearForMs: 0, when: ev(["backup:archive:missed"], ["backup:completed"], { keyField: "resource", quietMs: 30 * 60_000 }), describe: "WAL archiving is behind the recovery point objective" },
  { name: "drill-failed", severity: "critical", forMs: 0, clearForMs: 0, when: ev(["drill:failed"], ["drill:passed"], { keyField: "resource" }), describe: "A restore drill failed" },
  { name: "autoscale-at-max", severity: "warning", forMs: 10 * 60_000, clearForMs: 60_000, when: ev(["autoscale:pinned"], ["autoscale:scaled"]), describe: "Autoscaling is pinned at its maximum" },
  { name: "certificate", severity: "critical", forMs: 0, clearForMs: 0, when: ev(["router:cert-failed"], ["router:cert-issued"], { keyField: "domain" }), describe: "A TLS certificate could not be issued or renewed" },
  // Expiring = under 1/6 of the lifetime left, so renewals (from 2/3) have been failing a while. Reported
  // hourly while it lasts; quiet for 3 hours (the domain left the table) resolves it too.
  { name: "certificate-expiring", severity: "warning", forMs: 0, clearForMs: 0, when: ev(["router:cert-expiring"], ["router:cert-issued"], { keyField: "domain", quietMs: 3 * 3_600_000 }), describe: "A TLS certificate expires soon and was not renewed" },
  { name: "disk-full", severity: "critical", forMs: 60_000, clearForMs: 60_000, when: { kind: "metric", metric: "disk", above: 90, windowMs: 5 * 60_000, minRequests: 0, service: "" }, describe: "The data disk is over 90 % full" },
  { name: "error-rate", severity: "critical", forMs: 60_000, clearForMs: 60_000, when: { kind: "metric", metric: "errorRate", above: 0.05, windowMs: 5 * 60_000, minRequests: 20 }, describe: "Error rate (5xx) above 5 %" },
  { name: "latency-p95", severity: "warning", forMs: 2 * 60_000, clearForMs: 60_000, when: { kind: "metric", metric: "p95", above: 2000, windowMs: 5 * 60_000, minRequests: 20 }, describe: "p95 latency above 2 s" },
  { name: "cpu-high", severity: "warning", forMs: 5 * 60_000, clearForMs: 60_000, when: { kind: "metric", metric: "cpu", above: 90, windowMs: 5 * 60_000, minRequests: 0 }, describe: "CPU above 90 % of a core" },
  { name: "memory-high", severity: "warning", forMs: 5 * 60_000, clearForMs: 60_000, when: { kind: "metric", metric: "memory", above: 90, windowMs: 5 * 60_000, minRequests: 0 }, describe: "Memory above 90 % of the limit" },
];

/** Threshold as the condition stores it, from what the blueprint wrote. */
function threshold(metric: MetricName, above: string | number | undefined): number | undefined {
  if (above === undefined) return undefined;
  if (metric === "errorRate") return percent(above) !== undefined ? percent(above)! / 100 : undefined;
  if (metric === "cpu" || metric === "memory" || metric === "disk") return percent(above);
  if (metric === "p95" || metric === "p99") return typeof above === "number" ? above : durationMs(above);
  return Number(above);
}

/** The rules of an environment: defaults (unless turned off) changed and extended by the blueprint. */
export function resolveRules(config: AlertsConfig | undefined): AlertRule[] {
  const byName = new Map<string, AlertRule>();
  if (config?.defaults !== false) for (const r of DEFAULT_RULES) byName.set(r.name, r);
  for (const r of config?.rules ?? []) {
    if (r.enabled === false) {
      byName.delete(r.name);
      continue;
    }
    const base = byName.get(r.name);
    const metric = r.metric ?? (base?.when.kind === "metric" ? base.when.metric : undefined);
    let when = base?.when;
    if (metric) {
      const prev = base?.when.kind === "metric" ? base.when : undefined;
      when = {
        kind: "metric",
        metric,
        above: threshold(metric, r.above) ?? prev?.above ?? 0,
        windowMs: r.window !== undefined ? durationMs(r.window)! : (prev?.windowMs ?? 5 * 60_000),
        minRequests: prev?.minRequests ?? (metric === "errorRate" || metric.startsWith("p9") ? 20 : 0),
        ...(r.service ? { service: r.service } : prev?.service !== undefined ? { service: prev.service } : {}),
      };
    }
    if (!when) continue; // a new rule without a metric has nothing to watch (the schema's rules say so)
    byName.set(r.name, {
      name: r.name,
      severity: r.severity ?? base?.severity ?? "warning",
      forMs: r.for !== undefined ? durationMs(r.for)! : (base?.forMs ?? 60_000),
      clearForMs: base?.clearForMs ?? 60_000,
      when,
      ...(r.channels ? { channels: r.channels } : base?.channels ? { channels: base.channels } : {}),
      describe: base?.describe ?? `${metric} above ${r.above}`,
    });
  }
  return [...byName.values()];
}
