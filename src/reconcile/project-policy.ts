/**
 * A project's effective host policy and quota (issue 17): the daemon's reserved ports and base
 * domain, the defaults of core/limits.ts, and what an owner set for the project.
 */
import type { HostPolicy } from "../blueprint/index.ts";
import type { BerthConfig } from "../core/config.ts";
import { DEFAULT_PROJECT_QUOTA, type ProjectQuota } from "../core/limits.ts";
import type { ProjectPolicyRepository } from "../store/repositories/project-policies.ts";

/** Ports no service may declare unless allowed: ssh and Berth's own listeners. */
export function reservedPorts(config: Pick<BerthConfig, "listen" | "router">): Map<number, string> {
  const ports = new Map<number, string>([[22, "ssh"]]);
  if (config.listen.port > 0) ports.set(config.listen.port, "the Berth API's port");
  if (config.router.enabled) {
    if (config.router.httpPort > 0) ports.set(config.router.httpPort, "the router's HTTP port");
    if (config.router.httpsPort > 0) ports.set(config.router.httpsPort, "the router's HTTPS port");
  }
  return ports;
}

export function projectPolicy(
  policies: Pick<ProjectPolicyRepository, "get">,
  config: Pick<BerthConfig, "listen" | "router" | "baseDomain">,
): (project: string) => { host: HostPolicy; quota: ProjectQuota } {
  const reserved = reservedPorts(config);
  return (project) => {
    const p = policies.get(project)?.policy ?? {};
    return {
      host: { baseDomain: config.baseDomain, reservedPorts: reserved, allowedPorts: p.allowedPorts ?? [] },
      quota: {
        instances: p.instances ?? DEFAULT_PROJECT_QUOTA.instances,
        memoryBytes: p.memoryBytes ?? DEFAULT_PROJECT_QUOTA.memoryBytes,
        diskBytes: p.diskBytes ?? DEFAULT_PROJECT_QUOTA.diskBytes,
      },
    };
  };
}
