/**
 * Private networking on Swarm (issue 22), the part a Swarm engine shares with the local one: an
 * overlay network per environment, and each service attached to it under the same names the
 * local engine writes into its hosts file (`<service>.<environment>.internal`, `<service>`).
 * Swarm's DNS resolves them to the service (with `--endpoint-mode dnsrr` on these kernels, which
 * lack IPVS, see RECIPES), and the tasks listen on the internal port itself (`PORT` = the
 * blueprint's port, default 10000), so `fromService ... hostport` gives the same value on both
 * engines and a release moves between them unchanged.
 */
import type { EnvironmentRef, ServiceRef } from "../engine.ts";
import { internalNames } from "../network.ts";

/** The overlay network of an environment: `berth_<project>_<environment>`. */
export function swarmNetworkName(env: EnvironmentRef): string {
  return `berth_${env.project}_${env.environment}`.replace(/[^A-Za-z0-9_.-]/g, "_");
}

/** The `TaskTemplate.Networks[]` entry of a service (Docker Engine API, ServiceSpec). */
export function swarmNetworkAttachment(ref: ServiceRef): { readonly Target: string; readonly Aliases: readonly string[] } {
  return { Target: swarmNetworkName(ref), Aliases: internalNames(ref) };
}

/** The `NetworkCreate` body of an environment's network: attachable overlay, internal-only. */
export function swarmNetworkCreate(env: EnvironmentRef): { readonly Name: string; readonly Driver: "overlay"; readonly Attachable: true; readonly Internal: false; readonly Labels: Readonly<Record<string, string>> } {
  return { Name: swarmNetworkName(env), Driver: "overlay", Attachable: true, Internal: false, Labels: { "berth.project": env.project, "berth.environment": env.environment } };
}
