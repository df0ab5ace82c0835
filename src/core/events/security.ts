/**
 * Events of tenant isolation (issue 17): refused routes, limits reached, the loopback policy.
 * A build stopped by a limit fails with BERTH_BUILD_LIMIT, reported by `deploy:failed`.
 */
export interface SecurityEvents {
  /** A host or path a service asked for was left out of the route table (see RouteTable.refused). */
  "router:route-refused": { service: string; host: string; pathPrefix: string | null; code: string; message: string };
  /**
   * An instance reached a limit and was stopped: `pids` (a fork past pids.max failed) or
   * `memory` (the kernel OOM-killed it). `max` is the limit in processes or bytes.
   */
  "instance:limit-exceeded": { instance: string; limit: "pids" | "memory"; max: number; detail: string };
  /** The loopback network policy was (re)applied: how many projects and allowed ports. */
  "network:policy-applied": { projects: number; ports: number; ms: number };
  "network:policy-failed": { detail: string };
}
