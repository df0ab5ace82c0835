/**
 * The route table: which host and path go to which service. Built by a pure function from the
 * public services of every environment; the lead maps blueprints onto `RouteService`, so this
 * module does not depend on the blueprint schema.
 */
import { BerthError } from "../core/errors.ts";
import type { ServiceRef } from "../engine/engine.ts";

/** A service as the router sees it. Private services are accepted and never routed publicly. */
export interface RouteService {
  readonly ref: ServiceRef;
  readonly kind: "web" | "private" | "static";
  /** Custom domains, e.g. `app.example.com`. */
  readonly domains: readonly string[];
  /** Path prefixes the service answers under on each of its hosts; empty means `/`. */
  readonly pathPrefixes: readonly string[];
  /** `timeoutMs`: how long one check may take (default 5 s; an overloaded instance is slow, not dead). */
  readonly health: { readonly path: string; readonly intervalMs: number; readonly timeoutMs?: number };
}

/** How a host gets its certificate. `none`: plain HTTP only (and HTTPS with the default cert). */
export type TlsPolicy = { readonly kind: "none" } | { readonly kind: "internal" } | { readonly kind: "acme" };

/** One HAProxy backend: one per routed service. */
export interface RouteBackend {
  readonly name: string;
  readonly ref: ServiceRef;
  readonly healthPath: string;
  readonly healthIntervalMs: number;
  readonly healthTimeoutMs: number;
  /** Host header sent with health checks (the service's first host). */
  readonly healthHost: string;
}

export interface Route {
  readonly host: string;
  /** `/` or a prefix without a trailing slash, e.g. `/api`. */
  readonly pathPrefix: string;
  readonly backend: string;
  readonly generated: boolean;
}

export interface HostTls {
  readonly host: string;
  readonly tls: TlsPolicy;
  /** HTTP -> HTTPS redirect and HSTS. */
  readonly redirect: boolean;
}

/** Sorted and deterministic, so rendering it twice gives the same bytes. */
export interface RouteTable {
  readonly backends: readonly RouteBackend[];
  readonly routes: readonly Route[];
  readonly hosts: readonly HostTls[];
}

export interface RouteTableOptions {
  /** Base of generated hosts: `<service>-<env>-<project>.<baseDomain>`. Default `localhost`. */
  readonly baseDomain?: string;
  /** TLS for generated hosts; default `none` on a local base domain, `acme` otherwise. */
  readonly generatedTls?: TlsPolicy["kind"];
}

export const emptyRouteTable: RouteTable = Object.freeze({ backends: [], routes: [], hosts: [] });

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const LOCAL_SUFFIXES = ["localhost", "local", "internal", "test", "lan", "home.arpa"];

/** True for names no public CA will certify; they get the internal CA instead. */
export function isLocalDomain(domain: string): boolean {
  return LOCAL_SUFFIXES.some((s) => domain === s || domain.endsWith(`.${s}`));
}

export function isValidDomain(domain: string): boolean {
  if (domain.length > 253) return false;
  const labels = domain.split(".");
  return labels.length >= 1 && labels.every((l) => LABEL.test(l));
}

/** HAProxy proxy names allow letters, digits, `-_.:`; service names are DNS labels. */
export function backendName(ref: ServiceRef): string {
  return `svc.${ref.project}.${ref.environment}.${ref.service}`;
}

export function generatedHost(ref: ServiceRef, baseDomain: string): string {
  return `${ref.service}-${ref.environment}-${ref.project}.${baseDomain}`.toLowerCase();
}

function normalizePrefix(prefix: string): string {
  const p = `/${prefix.trim().replace(/^\/+/, "").replace(/\/+$/, "")}`;
  return p;
}

/** Pure. Throws BERTH_ROUTER_DOMAIN_INVALID or BERTH_ROUTER_ROUTE_CONFLICT. */
export function buildRouteTable(services: readonly RouteService[], options: RouteTableOptions = {}): RouteTable {
  const baseDomain = (options.baseDomain ?? "localhost").toLowerCase();
  const generatedTls = options.generatedTls ?? (isLocalDomain(baseDomain) ? "none" : "acme");
  const backends: RouteBackend[] = [];
  const routes = new Map<string, Route>();
  const hosts = new Map<string, HostTls>();
  const owner = new Map<string, string>();

  for (const svc of services) {
    if (svc.kind === "private") continue;
    const name = backendName(svc.ref);
    const label = `${svc.ref.project}/${svc.ref.environment}/${svc.ref.service}`;
    const gen = generatedHost(svc.ref, baseDomain);
    if (!isValidDomain(gen)) throw new BerthError("BERTH_ROUTER_DOMAIN_INVALID", { service: label, domain: gen });
    const custom = svc.domains.map((d) => d.trim().toLowerCase().replace(/\.$/, ""));
    for (const d of custom) {
      if (!isValidDomain(d)) throw new BerthError("BERTH_ROUTER_DOMAIN_INVALID", { service: label, domain: d });
    }
    const prefixes = svc.pathPrefixes.length === 0 ? ["/"] : [...new Set(svc.pathPrefixes.map(normalizePrefix))];
    const hostList: Array<{ host: string; generated: boolean }> = [
      { host: gen, generated: true },
      ...custom.filter((d) => d !== gen).map((host) => ({ host, generated: false })),
    ];
    for (const { host, generated } of hostList) {
      for (const pathPrefix of prefixes) {
        const key = `${host}${pathPrefix}`;
        const prev = owner.get(key);
        if (prev !== undefined && prev !== label) {
          throw new BerthError("BERTH_ROUTER_ROUTE_CONFLICT", { host, prefix: pathPrefix, first: prev, second: label });
        }
        owner.set(key, label);
        routes.set(key, { host, pathPrefix, backend: name, generated });
      }
      if (!hosts.has(host)) {
        const kind = generated ? generatedTls : isLocalDomain(host) ? "internal" : "acme";
        hosts.set(host, { host, tls: { kind }, redirect: kind !== "none" });
      }
    }
    backends.push({
      name,
      ref: svc.ref,
      healthPath: svc.health.path,
      healthIntervalMs: svc.health.intervalMs,
      healthTimeoutMs: svc.health.timeoutMs ?? 5_000,
      healthHost: custom[0] ?? gen,
    });
  }

  const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return {
    backends: backends.sort((a, b) => byString(a.name, b.name)),
    routes: [...routes.values()].sort((a, b) => byString(`${a.host}${a.pathPrefix}`, `${b.host}${b.pathPrefix}`)),
    hosts: [...hosts.values()].sort((a, b) => byString(a.host, b.host)),
  };
}

/** Finds the backend of a service, if it is routed. */
export function findBackend(table: RouteTable, ref: ServiceRef): RouteBackend | undefined {
  return table.backends.find(
    (b) => b.ref.project === ref.project && b.ref.environment === ref.environment && b.ref.service === ref.service,
  );
}
