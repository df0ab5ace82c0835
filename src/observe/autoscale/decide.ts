/**
 * The autoscaling decision, pure and with time as data (as Kubernetes' HPA and KEDA decide):
 * each metric recommends `ceil(current * value / target)` instances (queue depth:
 * `ceil(length / targetPerReplica)`); the highest wins, clamped to [min, max]. Scale-ups act at
 * once; a scale-down takes the highest recommendation seen in the stabilization window, so a
 * dip does not shed instances that the next minute needs. No change within the cooldown of the
 * previous one. Ratios within 10 % of the target change nothing (tolerance).
 */

export interface ScalingPolicy {
  readonly min: number;
  readonly max: number;
  readonly targetCpuPercent?: number;
  readonly targetMemoryPercent?: number;
  readonly targetP95Ms?: number;
  readonly queue?: { readonly targetPerReplica: number };
  readonly stabilizationWindowMs: number;
  readonly cooldownMs: number;
}

export interface Observed {
  readonly cpuPercent?: number;
  readonly memoryPercent?: number;
  readonly p95Ms?: number;
  readonly queueLength?: number;
}

export interface ScaleHistory {
  /** Recommendations (already clamped) inside the stabilization window. */
  readonly recommendations: readonly { readonly at: number; readonly replicas: number }[];
  readonly lastChangeAt?: number;
}

export interface ScaleDecision {
  readonly replicas: number;
  /** What the metrics asked for before stabilization and cooldown (clamped). */
  readonly recommendation: number;
  /** Unclamped: above max means pinned. */
  readonly wanted: number;
  readonly metric: string;
  readonly value: number;
  readonly target: number;
  readonly reason: string;
  readonly history: ScaleHistory;
}

const TOLERANCE = 0.1;

export function decideScale(policy: ScalingPolicy, current: number, observed: Observed, history: ScaleHistory, nowMs: number): ScaleDecision {
  const recs: { metric: string; value: number; target: number; wanted: number }[] = [];
  const ratio = (metric: string, value: number | undefined, target: number | undefined) => {
    if (value === undefined || target === undefined || target <= 0) return;
    const r = value / target;
    recs.push({ metric, value, target, wanted: Math.abs(r - 1) <= TOLERANCE ? current : Math.ceil(Math.max(1, current) * r) });
  };
  ratio("cpu", observed.cpuPercent, policy.targetCpuPercent);
  ratio("memory", observed.memoryPercent, policy.targetMemoryPercent);
  ratio("p95", observed.p95Ms, policy.targetP95Ms);
  if (policy.queue && observed.queueLength !== undefined) {
    recs.push({ metric: "queue", value: observed.queueLength, target: policy.queue.targetPerReplica, wanted: Math.ceil(observed.queueLength / policy.queue.targetPerReplica) });
  }
  const top = recs.reduce<(typeof recs)[number] | undefined>((a, b) => (!a || b.wanted > a.wanted ? b : a), undefined);
  const wanted = top?.wanted ?? current;
  const clamp = (n: number) => Math.min(policy.max, Math.max(policy.min, n));
  const recommendation = clamp(wanted);
  const window = [...history.recommendations.filter((r) => nowMs - r.at < policy.stabilizationWindowMs), { at: nowMs, replicas: recommendation }];
  const base = { recommendation, wanted, metric: top?.metric ?? "none", value: top?.value ?? 0, target: top?.target ?? 0 };
  let replicas = clamp(current);
  let reason: string;
  if (recommendation > current) {
    replicas = recommendation;
    reason = `${base.metric} ${round(base.value)} over target ${base.target}`;
  } else if (recommendation < current) {
    // The highest recommendation in the window: scale down only as far as all of it allows.
    replicas = Math.min(current, Math.max(...window.map((r) => r.replicas)));
    reason = replicas < current ? `${base.metric} ${round(base.value)} under target ${base.target} for the stabilization window` : "stabilizing";
  } else reason = "at target";
  if (replicas !== current && history.lastChangeAt !== undefined && nowMs - history.lastChangeAt < policy.cooldownMs) {
    replicas = current;
    reason = "cooldown";
  }
  return { ...base, replicas, reason, history: { recommendations: window, ...(replicas !== current ? { lastChangeAt: nowMs } : history.lastChangeAt !== undefined ? { lastChangeAt: history.lastChangeAt } : {}) } };
}

const round = (n: number): number => Math.round(n * 10) / 10;
