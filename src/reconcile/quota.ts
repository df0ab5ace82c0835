/**
 * Project quotas (issue 17), pure: what a project's environments ask for in instances, memory
 * and disk, against its quota. A sync that would exceed it is refused before anything is
 * recorded, naming the quota and the services that use it.
 */
import type { Blueprint } from "../blueprint/types.ts";
import { BerthError } from "../core/errors.ts";
import { DEFAULT_INSTANCE_LIMITS, type ProjectQuota } from "../core/limits.ts";

/** What one service of one environment takes at most. */
export interface ServiceUsage {
  readonly environment: string;
  readonly service: string;
  readonly instances: number;
  readonly memoryBytes: number;
  readonly diskBytes: number;
}

/** A static file server's own memory limit is the instance default. */
export function environmentUsage(environment: string, bp: Blueprint): ServiceUsage[] {
  const out: ServiceUsage[] = bp.services.map((s) => {
    // Autoscaled services count at their maximum; cron jobs at their concurrency.
    const instances =
      s.type === "cron" ? s.maxConcurrent : s.type === "static" ? s.replicas : s.singleton ? 1 : (s.scaling ? Math.max(s.scaling.max, s.replicas) : s.replicas);
    const memory = s.type === "static" ? DEFAULT_INSTANCE_LIMITS.memoryBytes : (s.limits.memoryBytes ?? DEFAULT_INSTANCE_LIMITS.memoryBytes);
    const disk = s.type === "web" || s.type === "private" || s.type === "worker" ? s.disks.reduce((n, d) => n + (d.sizeBytes ?? 0), 0) : 0;
    return { environment, service: s.name, instances, memoryBytes: instances * memory, diskBytes: disk };
  });
  for (const d of bp.databases) if (d.diskBytes) out.push({ environment, service: d.name, instances: 0, memoryBytes: 0, diskBytes: d.diskBytes });
  for (const k of bp.keyValues) if (k.maxmemoryBytes) out.push({ environment, service: k.name, instances: 0, memoryBytes: k.maxmemoryBytes, diskBytes: 0 });
  return out;
}

const GIB = 1024 ** 3;
const showBytes = (n: number): string => (n >= GIB ? `${(n / GIB).toFixed(n % GIB === 0 ? 0 : 1)} GiB` : `${Math.round(n / 1024 ** 2)} MiB`);

/** Throws BERTH_QUOTA_EXCEEDED for the first quota the usage goes over. */
export function checkQuota(project: string, usage: readonly ServiceUsage[], quota: ProjectQuota): void {
  const checks: Array<[keyof ProjectQuota & keyof ServiceUsage, string, (n: number) => string]> = [
    ["instances", "instances", String],
    ["memoryBytes", "of memory", showBytes],
    ["diskBytes", "of disk", showBytes],
  ];
  for (const [key, what, show] of checks) {
    const total = usage.reduce((n, u) => n + u[key], 0);
    if (total <= quota[key]) continue;
    const top = [...usage].filter((u) => u[key] > 0).sort((a, b) => b[key] - a[key]).slice(0, 5);
    const detail = top.map((u) => `${u.environment}/${u.service} ${show(u[key])}`).join(", ");
    throw new BerthError("BERTH_QUOTA_EXCEEDED", { project, what, requested: show(total), quota: show(quota[key]), detail });
  }
}
