/**
 * The route table: which host and path go to which service. Built by a pure function from the
 * public services of every environment; the lead maps blueprints onto `RouteService`, so this
 * module does not depend on the blueprint schema.
 */
import { urlPathProblem } from "../blueprint/schema/safe-text.ts";
import { BerthError, type ErrorCode } from "../core/errors.ts";
import type { ServiceRef } from "../engine/engine.ts";

/** A service as the router sees it. Private services are accepted and never routed publicly. */
export interface RouteService {
  readonly ref: ServiceRef;
  readonly kind: "web" | "private" | "static";
  /** Custom domains, e.g. `app.example.com`. */
  readonly domains: readonly string[];
  /** Path prefixes the service answers under on each of its hosts; empty means `/`. */
  readonly pathPrefixes: readonly string[];
  /**
   * `timeoutMs`: how long one check may take (default 5 s; an overloaded instance is slow, not
   * dead). No `path`: a TCP connect is the check (private services without an HTTP health path).
   */
  readonly health: { readonly path?: string; readonly intervalMs: number; readonly timeoutMs?: number };
  /** The service's stable internal address (issue 22): a listener of its own, on loopback. */
  readonly internal?: InternalListener;
  /** Issue 19: it may sleep; with no instance up, its backend hands requests to the waker. */
  readonly wake?: boolean;
}

/** An internal listener: bound to a loopback address, balancing over the service's backend. */
export interface InternalListener {
  readonly address: string;
  readonly port: number;
  /** `tcp`: bytes are passed through (gRPC, databases, line protocols); `http`: per request. */
  readonly protocol: "http" | "tcp";
  /** The canonical internal name, sent as the Host of HTTP health checks of private services. */
  readonly host: string;
}

/** How a host gets its certificate. `none`: plain HTTP only (and HTTPS with the default cert). */
export type TlsPolicy = { readonly kind: "none" } | { readonly kind: "internal" } | { readonly kind: "acme" };

/** One HAProxy backend: one per routed service. */
export interface RouteBackend {
  readonly name: string;
  readonly ref: ServiceRef;
  /** Absent: a TCP connect check. */
  readonly healthPath?: string;
  readonly healthIntervalMs: number;
  readonly healthTimeoutMs: number;
  /** Host header sent with health checks (the service's first host). */
  readonly healthHost: string;
  /** The internal listener in front of this backend, if the service has an internal address. */
  readonly internal?: InternalListener;
  /** Issue 19: a backup server (the daemon's waker) takes requests while no instance is up. */
  readonly wake?: true;
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

/** A host or path a service asked for and did not get, with the catalogued reason. */
export interface RefusedRoute {
  readonly service: ServiceRef;
  readonly host: string;
  readonly pathPrefix: string | null;
  readonly code: ErrorCode;
  readonly message: string;
}

/** Sorted and deterministic, so rendering it twice gives the same bytes. */
export interface RouteTable {
  readonly backends: readonly RouteBackend[];
  readonly routes: readonly Route[];
  readonly hosts: readonly HostTls[];
  /**
   * What was refused. One project's bad or conflicting claim never fails the table for every
   * other project (issue 17): it is left out and reported here instead.
   */
  readonly refused?: readonly RefusedRoute[];
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

/** `api/` -> `/api`. Only slashes are trimmed: anything else odd is refused, never repaired. */
function normalizePrefix(prefix: string): string {
  return `/${prefix.replace(/^\/+/, "").replace(/\/+$/, "")}`;
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const refKey = (r: ServiceRef): string => `${r.project}/${r.environment}/${r.service}`;

/**
 * Pure. Never throws for a service's input: invalid domains or paths, custom domains inside the
 * base domain (reserved for generated hosts) and claims on a host+prefix another service holds
 * are left out and listed in `refused`. Precedence for a contested route: generated hosts first
 * (they can only ever belong to their service), then services in the order given (the caller
 * passes the oldest environments first, so a newcomer cannot take a route away).
 */
export function buildRouteTable(services: readonly RouteService[], options: RouteTableOptions = {}): RouteTable {
  const baseDomain = (options.baseDomain ?? "localhost").toLowerCase();
  const generatedTls = options.generatedTls ?? (isLocalDomain(baseDomain) ? "none" : "acme");
  const backends: RouteBackend[] = [];
  const routes = new Map<string, Route>();
  const hosts = new Map<string, HostTls>();
  const owner = new Map<string, string>();
  const refused: RefusedRoute[] = [];
  const refuse = (svc: RouteService, host: string, pathPrefix: string | null, error: BerthError): void => {
    refused.push({ service: svc.ref, host, pathPrefix, code: error.code, message: error.message });
  };
  const publicServices = services.filter((s) => s.kind !== "private");
  const plans: Array<{ svc: RouteService; hosts: Array<{ host: string; generated: boolean }>; prefixes: string[] }> = [];

  for (const svc of publicServices) {
    const label = refKey(svc.ref);
    const gen = generatedHost(svc.ref, baseDomain);
    if (!isValidDomain(gen)) {
      refuse(svc, gen, null, new BerthError("BERTH_ROUTER_DOMAIN_INVALID", { service: label, domain: gen }));
      continue;
    }
    const prefixes: string[] = [];
    for (const raw of svc.pathPrefixes.length === 0 ? ["/"] : svc.pathPrefixes) {
      const p = normalizePrefix(raw);
      const problem = urlPathProblem(p);
      if (problem) refuse(svc, gen, raw, new BerthError("BERTH_ROUTER_PATH_INVALID", { service: label, path: JSON.stringify(raw), detail: problem }));
      else if (!prefixes.includes(p)) prefixes.push(p);
    }
    const custom: Array<{ host: string; generated: boolean }> = [];
    for (const raw of svc.domains) {
      const d = raw.toLowerCase().replace(/\.$/, "");
      if (d === gen || custom.some((c) => c.host === d)) continue;
      if (!isValidDomain(d)) refuse(svc, raw, null, new BerthError("BERTH_ROUTER_DOMAIN_INVALID", { service: label, domain: JSON.stringify(raw) }));
      else if (d === baseDomain || d.endsWith(`.${baseDomain}`)) refuse(svc, d, null, new BerthError("BERTH_ROUTER_DOMAIN_RESERVED", { service: label, domain: d, base: baseDomain }));
      else custom.push({ host: d, generated: false });
    }
    const healthProblem = urlPathProblem(svc.health.path ?? "/");
    if (healthProblem) refuse(svc, gen, svc.health.path ?? "/", new BerthError("BERTH_ROUTER_PATH_INVALID", { service: label, path: JSON.stringify(svc.health.path), detail: `${healthProblem} (health checks use / instead)` }));
    const checked = healthProblem ? { ...svc, health: { ...svc.health, path: "/" } } : svc;
    plans.push({ svc: checked, hosts: [{ host: gen, generated: true }, ...custom], prefixes });
  }

  for (const pass of [true, false]) {
    for (const { svc, hosts: hostList, prefixes } of plans) {
      const label = refKey(svc.ref);
      for (const { host, generated } of hostList.filter((h) => h.generated === pass)) {
        let claimed = false;
        for (const pathPrefix of prefixes) {
          const key = `${host}${pathPrefix}`;
          const prev = owner.get(key);
          if (prev !== undefined && prev !== label) {
            refuse(svc, host, pathPrefix, new BerthError("BERTH_ROUTER_ROUTE_CONFLICT", { host, prefix: pathPrefix, first: prev, second: label }));
            continue;
          }
          owner.set(key, label);
          routes.set(key, { host, pathPrefix, backend: backendName(svc.ref), generated });
          claimed = true;
        }
        if (claimed && !hosts.has(host)) {
          const kind = generated ? generatedTls : isLocalDomain(host) ? "internal" : "acme";
          hosts.set(host, { host, tls: { kind }, redirect: kind !== "none" });
        }
      }
    }
  }

  for (const { svc, hosts: hostList } of plans) {
    const name = backendName(svc.ref);
    // Health checks carry the first custom host the service actually got, else its generated one.
    const healthHost = hostList.find((h) => !h.generated && [...routes.values()].some((r) => r.host === h.host && r.backend === name))?.host ?? hostList[0]!.host;
    backends.push({
      name,
      ref: svc.ref,
      healthPath: svc.health.path ?? "/",
      healthIntervalMs: svc.health.intervalMs,
      healthTimeoutMs: svc.health.timeoutMs ?? 5_000,
      healthHost,
      ...(svc.internal ? { internal: svc.internal } : {}),
      ...(svc.wake ? { wake: true as const } : {}),
    });
  }
  // Private services (issue 22): a backend behind their internal listener, never a public route.
  for (const svc of services) {
    if (svc.kind !== "private" || !svc.internal) continue;
    const name = backendName(svc.ref);
    const path = svc.internal.protocol === "http" && svc.health.path && !urlPathProblem(svc.health.path) ? svc.health.path : undefined;
    backends.push({
      name,
      ref: svc.ref,
      ...(path ? { healthPath: path } : {}),
      healthIntervalMs: svc.health.intervalMs,
      healthTimeoutMs: svc.health.timeoutMs ?? 5_000,
      healthHost: svc.internal.host,
      internal: svc.internal,
    });
  }

  return {
    backends: backends.sort((a, b) => byString(a.name, b.name)),
    routes: [...routes.values()].sort((a, b) => byString(`${a.host}${a.pathPrefix}`, `${b.host}${b.pathPrefix}`)),
    hosts: [...hosts.values()].sort((a, b) => byString(a.host, b.host)),
    ...(refused.length > 0 ? { refused: refused.sort((a, b) => byString(`${refKey(a.service)} ${a.host}${a.pathPrefix}`, `${refKey(b.service)} ${b.host}${b.pathPrefix}`)) } : {}),
  };
}

/** Finds the backend of a service, if it is routed. */
export function findBackend(table: RouteTable, ref: ServiceRef): RouteBackend | undefined {
  return table.backends.find(
    (b) => b.ref.project === ref.project && b.ref.environment === ref.environment && b.ref.service === ref.service,
  );
}
