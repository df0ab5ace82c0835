/**
 * Private networking (issue 22): the stable internal address of every listening service of an
 * environment. The names are the same on every engine — `<service>` and
 * `<service>.<environment>.internal` — so a release's `fromService ... hostport` value never
 * changes between engines. What the names resolve to is the engine's business: on the local
 * engine a loopback address where the router's internal listener balances across the healthy
 * instances (written into a hosts file bound into the sandbox); on Swarm the service's aliases on
 * the environment's overlay network. See docs/design/private-networking.md.
 */
import type { InternalEntry, InternalProtocol, ServiceRef } from "./engine.ts";

export type { EnvironmentNetwork, InternalEntry, InternalProtocol } from "./engine.ts";

/** The port of an internal address when the blueprint names none (Render's default `PORT`). */
export const DEFAULT_INTERNAL_PORT = 10_000;

/** The canonical internal host name of a service: `<service>.<environment>.internal`. */
export function internalHost(ref: ServiceRef): string {
  return `${ref.service}.${ref.environment}.internal`.toLowerCase();
}

/** Every name a service answers to inside its environment, canonical name first. */
export function internalNames(ref: ServiceRef): string[] {
  return [internalHost(ref), ref.service.toLowerCase()];
}

/** What `fromService` / `${svc.prop}` read for a service's internal address. */
export function internalValues(ref: ServiceRef, port: number, protocol: InternalProtocol): { host: string; port: string; hostport: string; url: string } {
  const host = internalHost(ref);
  return { host, port: String(port), hostport: `${host}:${port}`, url: `${protocol === "tcp" ? "tcp" : "http"}://${host}:${port}` };
}

/**
 * Pure: a hosts file made of the host's own (minus any line that would shadow an internal name)
 * followed by the environment's entries, one line per address, sorted.
 */
export function renderHostsFile(base: string, entries: readonly InternalEntry[]): string {
  const names = new Set(entries.flatMap((e) => e.names));
  const kept = base
    .split("\n")
    .filter((line) => !line.replace(/#.*/, "").trim().split(/\s+/).slice(1).some((n) => names.has(n.toLowerCase())))
    .join("\n")
    .trimEnd();
  const lines = [...entries].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0)).map((e) => `${e.address}\t${e.names.join(" ")}`);
  return `${kept}\n\n# Berth private network (issue 22): rewritten on every change.\n${lines.join("\n")}${lines.length ? "\n" : ""}`;
}
