/**
 * Host policy rules: what a blueprint may ask of the machine it runs on, beyond its own shape.
 * The daemon knows its ports and base domain; the parser does not, so they come in as data and
 * failures are located like every other rule (issue 17).
 */
import { formatPath, type Path, type Reporter } from "./diagnostics.ts";
import type { Blueprint } from "./types.ts";

export interface HostPolicy {
  /** Generated hosts live under it; custom domains inside it are refused. */
  readonly baseDomain?: string;
  /** Ports a service may not declare, with the reason (`22: ssh`, the daemon's, the router's). */
  readonly reservedPorts?: ReadonlyMap<number, string>;
  /** Ports the owner allowed for this project despite the rules (privileged or reserved). */
  readonly allowedPorts?: readonly number[];
}

/** Below this, binding needs privileges on Unix; refused unless allowed. */
export const FIRST_UNPRIVILEGED_PORT = 1024;

export function checkPolicy(bp: Blueprint, policy: HostPolicy, out: Reporter): void {
  const reserved = policy.reservedPorts ?? new Map<number, string>();
  const allowed = new Set(policy.allowedPorts ?? []);
  const base = policy.baseDomain?.toLowerCase();
  const reservedList = [...reserved.keys()].sort((a, b) => a - b).join(", ") || "reserved";
  for (const svc of bp.services) {
    const path: Path = ["services", svc.name];
    if ((svc.type === "web" || svc.type === "private") && svc.port !== undefined && !allowed.has(svc.port)) {
      const why = reserved.get(svc.port) ?? (svc.port < FIRST_UNPRIVILEGED_PORT ? "privileged: below 1024" : undefined);
      if (why) out.error("BERTH_BLUEPRINT_PORT_RESERVED", { field: formatPath([...path, "port"]), port: svc.port, why, reserved: reservedList, project: bp.project }, [...path, "port"]);
    }
    if (base && (svc.type === "web" || svc.type === "static")) {
      const inside = (d: string) => d === base || d.endsWith(`.${base}`);
      svc.domains.forEach((d, i) => {
        if (inside(d.toLowerCase())) out.error("BERTH_BLUEPRINT_DOMAIN_RESERVED", { field: formatPath([...path, "domains", i]), domain: d, base }, [...path, "domains", i]);
      });
      svc.routes.forEach((r, i) => {
        if (r.domain && inside(r.domain.toLowerCase())) out.error("BERTH_BLUEPRINT_DOMAIN_RESERVED", { field: formatPath([...path, "routes", i, "domain"]), domain: r.domain, base }, [...path, "routes", i, "domain"]);
      });
    }
  }
}
