/**
 * Default limits (issue 17), in one place so docs, engines, builds and quota checks agree.
 * Every instance and every build runs with a memory and a process limit even when the blueprint
 * names none; a service raises its own with `limits`, an owner raises a project's quota.
 * Rationale and figures: docs/design/security.md.
 */

/** Per instance (web, private, worker, static, cron run, pre-deploy task). */
export const DEFAULT_INSTANCE_LIMITS = Object.freeze({
  memoryBytes: 512 * 1024 ** 2,
  /** Processes and threads together (cgroup pids.max): room for worker pools, none for a fork bomb. */
  pids: 512,
});

/** Per build step (install, build command). Builds need more memory than most services. */
export const DEFAULT_BUILD_LIMITS = Object.freeze({
  memoryBytes: 2 * 1024 ** 3,
  pids: 1024,
  /** One core per build, so a build never takes the whole of a small host from running services. */
  cpuMillicores: 1000,
  timeoutMs: 15 * 60_000,
});

/** Per project, over all its environments. */
export interface ProjectQuota {
  readonly instances: number;
  readonly memoryBytes: number;
  readonly diskBytes: number;
}

export const DEFAULT_PROJECT_QUOTA: ProjectQuota = Object.freeze({
  instances: 50,
  memoryBytes: 16 * 1024 ** 3,
  diskBytes: 100 * 1024 ** 3,
});

/** Fills the defaults into a service's limits (absent fields only). */
export function effectiveInstanceLimits<T extends { readonly memoryBytes?: number; readonly cpuMillicores?: number; readonly pids?: number }>(limits: T): T & { readonly memoryBytes: number; readonly pids: number } {
  return { ...limits, memoryBytes: limits.memoryBytes ?? DEFAULT_INSTANCE_LIMITS.memoryBytes, pids: limits.pids ?? DEFAULT_INSTANCE_LIMITS.pids };
}
