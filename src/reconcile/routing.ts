/**
 * Routing for the whole daemon: the route table is derived from every running environment's
 * services (web and static are public; private and workers never are), pushed to the router
 * before an environment's rollouts, and the deploy pipeline's traffic port only touches services
 * the router routes.
 *
 * Private networking (issue 22): every listening service also gets a stable internal address —
 * a loopback IP allocated once in the store, the blueprint's `port` (default 10000) — served by
 * an internal listener of the same HAProxy over the same backend slots, so deploys swap
 * instances behind it with zero downtime. Each refresh hands the engine the environment's names
 * (the hosts file of its sandboxes) and the loopback policy the addresses each project may reach.
 */
import type { Route as BlueprintRoute } from "../blueprint/types.ts";
import type { EventSink } from "../core/events.ts";
import type { ActualService, ServiceRef, ServiceSpec, TrafficPort } from "../engine/engine.ts";
import { serviceKey } from "../engine/engine.ts";
import { DEFAULT_INTERNAL_PORT, type EnvironmentNetwork, type InternalProtocol, internalHost, internalNames, internalValues } from "../engine/network.ts";
import type { Router } from "../router/router.ts";
import type { Certificates } from "../router/tls/certificates.ts";
import { backendName, buildRouteTable, generatedHost, type InternalListener, type RouteService, type RouteTable } from "../router/routes.ts";
import type { InternalAddressRepository } from "../store/repositories/internal-addresses.ts";
import type { Store } from "../store/store.ts";

interface RoutedExtra {
  readonly domains?: readonly string[];
  readonly routes?: readonly BlueprintRoute[];
  readonly port?: number | null;
  readonly protocol?: InternalProtocol;
}

type RecordedService = { readonly kind: string; readonly spec: ServiceSpec; readonly inputs: unknown; readonly sleepAfterMs?: number | null };

const extraOf = (s: RecordedService): RoutedExtra => ((s.inputs as { extra?: RoutedExtra } | null)?.extra ?? {}) as RoutedExtra;

/** Whether a recorded service has an internal address: every service that listens. */
export function hasInternalAddress(s: RecordedService): boolean {
  return s.kind === "web" || s.kind === "private" || s.kind === "static";
}

/** The internal port and protocol of a recorded service (pure). */
export function internalPortOf(s: RecordedService): { port: number; protocol: InternalProtocol } {
  const extra = extraOf(s);
  return { port: extra.port ?? DEFAULT_INTERNAL_PORT, protocol: s.kind === "private" && extra.protocol === "tcp" ? "tcp" : "http" };
}

/**
 * One recorded service as the router wants it (pure), or undefined when the router has nothing
 * to do with it (workers, cron; private services without an internal address).
 */
export function routeServiceOf(s: RecordedService, address?: string): RouteService | undefined {
  if (!hasInternalAddress(s)) return undefined;
  const internal: InternalListener | undefined = address ? { address, ...internalPortOf(s), host: internalHost(s.spec.ref) } : undefined;
  if (s.kind === "private") {
    if (!internal) return undefined;
    const path = s.spec.health.path;
    return { ref: s.spec.ref, kind: "private", domains: [], pathPrefixes: [], health: { ...(path ? { path } : {}), intervalMs: s.spec.health.intervalMs, timeoutMs: s.spec.health.timeoutMs }, internal };
  }
  const extra = extraOf(s);
  const routes = extra.routes ?? [];
  return {
    ref: s.spec.ref,
    kind: s.kind as "web" | "static",
    domains: [...(extra.domains ?? []), ...routes.flatMap((r) => (r.domain ? [r.domain] : []))],
    pathPrefixes: routes.filter((r) => !r.domain && r.path !== "/").map((r) => r.path),
    health: { path: s.spec.health.path ?? "/", intervalMs: s.spec.health.intervalMs, timeoutMs: s.spec.health.timeoutMs },
    ...(internal ? { internal } : {}),
    ...(s.sleepAfterMs != null ? { wake: true } : {}),
  };
}

/**
 * Routed services of every environment that is not stopped, as the router wants them.
 * `addressOf` gives a service's internal address (absent: no internal listeners).
 */
export function routeServices(store: Store, addressOf?: (ref: ServiceRef) => string): RouteService[] {
  const out: RouteService[] = [];
  // Oldest environments first: buildRouteTable gives a contested route to the first claimant.
  const envs = store.environments.list().sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  for (const env of envs) {
    if (env.status === "stopping" || env.status === "stopped") continue;
    for (const s of store.services.list(env.id)) {
      const r = routeServiceOf(s, addressOf && hasInternalAddress(s) ? addressOf(s.spec.ref) : undefined);
      if (r) out.push(r);
    }
  }
  return out;
}

/** What the private network needs besides the router (all optional: tests leave them out). */
export interface PrivateNetworkDeps {
  readonly addresses: InternalAddressRepository;
  /** The engine's side: names resolvable in the environment's sandboxes. */
  readonly setNetwork?: (network: EnvironmentNetwork) => Promise<void>;
  /** The loopback policy's side: which project may reach which internal addresses. */
  readonly setInternalAddresses?: (byProject: ReadonlyMap<string, readonly string[]>) => Promise<void>;
}

export class Routing {
  readonly #router: Router;
  readonly #store: Store;
  readonly #baseDomain: string;
  readonly #httpPort: number;
  #table: RouteTable | undefined;
  /** Services with a backend (public and private): the traffic port moves their instances. */
  readonly #routed = new Set<string>();
  /** Services with public routes. */
  readonly #public = new Set<string>();
  readonly #events: EventSink | undefined;
  /** Refusals already reported, so a refresh does not repeat them. */
  #reported = new Set<string>();

  readonly #network: PrivateNetworkDeps | undefined;
  /** Asked for a run after each table is applied (absent: no HTTPS listener). */
  readonly #certificates: Pick<Certificates, "request"> | undefined;

  constructor(deps: { router: Router; store: Store; baseDomain: string; httpPort: number; events?: EventSink; network?: PrivateNetworkDeps; certificates?: Pick<Certificates, "request"> }) {
    this.#network = deps.network;
    this.#certificates = deps.certificates;
    this.#router = deps.router;
    this.#store = deps.store;
    this.#baseDomain = deps.baseDomain;
    this.#httpPort = deps.httpPort;
    this.#events = deps.events;
  }

  #services: RouteService[] = [];

  /**
   * Rebuilds the table from the store and applies it (the router reloads only on change).
   * `prune: false` (before rollouts) keeps the backends of services that are going away, so
   * their instances can still be drained through them; `prune: true` (after) drops them.
   */
  async refresh(options: { prune: boolean } = { prune: true }): Promise<void> {
    const wanted = routeServices(this.#store, this.#network ? (ref) => this.#address(ref) : undefined);
    // Names and the policy first: a new instance must resolve its peers from its first line.
    await this.#publishNetwork(wanted);
    const keys = new Set(wanted.map((s) => serviceKey(s.ref)));
    const services = options.prune ? wanted : [...wanted, ...this.#services.filter((s) => !keys.has(serviceKey(s.ref)))];
    this.#services = services;
    this.#table = buildRouteTable(services, { baseDomain: this.#baseDomain });
    this.#reportRefused(this.#table);
    await this.#router.setRoutes(this.#table);
    // Hosts are routed (and `/.well-known/acme-challenge/` answered) now: certificates can follow.
    this.#certificates?.request();
    this.#routed.clear();
    this.#public.clear();
    for (const s of services) {
      this.#routed.add(serviceKey(s.ref));
      if (s.kind !== "private") this.#public.add(serviceKey(s.ref));
    }
  }

  /** The traffic port for deploys: routed services go through HAProxy's runtime API. */
  readonly traffic: TrafficPort = {
    add: async (service, instanceId, endpoint) => {
      if (this.#routed.has(serviceKey(service))) await this.#router.trafficPort.add(service, instanceId, endpoint);
    },
    remove: async (service, instanceId, options) => {
      if (this.#routed.has(serviceKey(service))) await this.#router.trafficPort.remove(service, instanceId, options);
    },
  };

  /**
   * Level-based rotation (issue 15): every routed service's backend holds exactly its healthy
   * instances. Run after each reconcile and on instance changes, it repairs what the rollouts'
   * traffic calls could not see — an adopted router after a daemon restart, adopted instances
   * that restarted with no rollout known, instances that died while no daemon watched.
   */
  async converge(actual: readonly ActualService[]): Promise<void> {
    for (const a of actual) {
      if (!this.#routed.has(serviceKey(a.ref)) || !a.spec.listens) continue;
      const wanted = a.instances.flatMap((i) => (i.state === "healthy" && i.endpoint ? [{ instanceId: i.id, endpoint: i.endpoint }] : []));
      await this.#router.converge(a.ref, wanted);
    }
  }

  #address(ref: ServiceRef): string {
    return this.#network!.addresses.ensure(ref.project, ref.environment, ref.service, new Date().toISOString());
  }

  /** Hands each environment's names to the engine and every project's addresses to the policy. */
  async #publishNetwork(services: readonly RouteService[]): Promise<void> {
    const net = this.#network;
    if (!net) return;
    const byEnv = new Map<string, EnvironmentNetwork>();
    const byProject = new Map<string, string[]>();
    for (const s of services) {
      if (!s.internal) continue;
      const key = `${s.ref.project}/${s.ref.environment}`;
      const n = byEnv.get(key) ?? { env: { project: s.ref.project, environment: s.ref.environment }, entries: [] };
      byEnv.set(key, { ...n, entries: [...n.entries, { service: s.ref.service, names: internalNames(s.ref), address: s.internal.address, port: s.internal.port, protocol: s.internal.protocol }] });
      byProject.set(s.ref.project, [...(byProject.get(s.ref.project) ?? []), s.internal.address]);
    }
    // Addresses of stopped environments stay owned (denied to everyone else) but unlisted.
    for (const row of net.addresses.list()) if (!byProject.has(row.project)) byProject.set(row.project, []);
    for (const n of byEnv.values()) await net.setNetwork?.(n);
    await net.setInternalAddresses?.(byProject).catch(() => {});
  }

  /** One event per new refusal, scoped to the project that asked (never to the one it collided with). */
  #reportRefused(table: RouteTable): void {
    const now = new Set<string>();
    for (const r of table.refused ?? []) {
      const key = `${serviceKey(r.service)} ${r.host}${r.pathPrefix ?? ""} ${r.code}`;
      now.add(key);
      if (this.#reported.has(key)) continue;
      this.#events?.emit({
        type: "router:route-refused",
        scope: { project: r.service.project, environment: r.service.environment, service: r.service.service },
        data: { service: r.service.service, host: r.host, pathPrefix: r.pathPrefix, code: r.code, message: r.message },
      });
    }
    this.#reported = now;
  }

  /**
   * Deletes the stored certificates of an environment's generated hosts once it is gone (issue 19:
   * a destroyed preview). Previews have no custom domains, so its hosts are
   * `<service>-<environment>-<project>.<base domain>`; a host still routed, or the generated host
   * of a service of another environment (names with dashes can collide), is kept.
   */
  async removeEnvironmentCertificates(project: string, environment: string): Promise<string[]> {
    const suffix = `-${environment}-${project}.${this.#baseDomain}`.toLowerCase();
    const routed = new Set([...(this.#table?.routes ?? []).map((r) => r.host), ...(this.#table?.hosts ?? []).map((h) => h.host)]);
    const others = new Set<string>();
    for (const e of this.#store.environments.list()) {
      if (e.project === project && e.name === environment) continue;
      for (const s of this.#store.services.list(e.id)) others.add(generatedHost({ project: e.project, environment: e.name, service: s.name }, this.#baseDomain));
    }
    const removed: string[] = [];
    for (const name of this.#router.certs.names()) {
      if (!name.endsWith(suffix) || name.length === suffix.length || routed.has(name) || others.has(name)) continue;
      if (await this.#router.removeCertificate(name)) removed.push(name);
    }
    return removed;
  }

  /** Public URLs of a service (generated host first), as users open them. */
  urls(ref: ServiceRef): string[] {
    if (!this.#public.has(serviceKey(ref))) return [];
    const port = this.#httpPort === 80 ? "" : `:${this.#httpPort}`;
    const backend = backendName(ref);
    const hosts = new Set([generatedHost(ref, this.#baseDomain)]);
    for (const r of this.#table?.routes ?? []) if (r.backend === backend) hosts.add(r.host);
    return [...hosts].map((h) => `http://${h}${port}`);
  }

  /**
   * Addresses of an environment's services, as `fromService` / `${svc.prop}` read them: `host`,
   * `port`, `hostport` and `url` are the internal address (issue 22; private and public services
   * alike, as on Render), `publicUrl` and `publicHost` the public one of routed services.
   */
  serviceValues(project: string, environment: string, services: readonly string[]): Record<string, Record<string, string>> {
    const out: Record<string, Record<string, string>> = {};
    const env = this.#store.environments.byName(project, environment);
    const rows = env ? this.#store.services.list(env.id) : [];
    for (const service of services) {
      const ref = { project, environment, service };
      const values: Record<string, string> = {};
      const row = rows.find((r) => r.name === service);
      if (this.#network && row && hasInternalAddress(row)) {
        const { port, protocol } = internalPortOf(row);
        Object.assign(values, internalValues(ref, port, protocol));
      }
      const [url] = this.urls(ref);
      if (url) {
        const u = new URL(url);
        values.publicUrl = url;
        values.publicHost = u.hostname;
        if (!values.host) {
          const p = u.port || "80";
          Object.assign(values, { host: u.hostname, port: p, hostport: `${u.hostname}:${p}`, url });
        }
      }
      if (Object.keys(values).length > 0) out[service] = values;
    }
    return out;
  }
}
