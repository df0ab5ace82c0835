/**
 * Routing for the whole daemon: the route table is derived from every running environment's
 * services (web and static are public; private and workers never are), pushed to the router
 * before an environment's rollouts, and the deploy pipeline's traffic port only touches services
 * the router routes.
 */
import type { Route as BlueprintRoute } from "../blueprint/types.ts";
import type { EventSink } from "../core/events.ts";
import type { ServiceRef, ServiceSpec, TrafficPort } from "../engine/engine.ts";
import { serviceKey } from "../engine/engine.ts";
import type { Router } from "../router/router.ts";
import { backendName, buildRouteTable, generatedHost, type RouteService, type RouteTable } from "../router/routes.ts";
import type { Store } from "../store/store.ts";

interface RoutedExtra {
  readonly domains?: readonly string[];
  readonly routes?: readonly BlueprintRoute[];
}

/** One recorded service as the router wants it (pure), or undefined when it is not public. */
export function routeServiceOf(s: { readonly kind: string; readonly spec: ServiceSpec; readonly inputs: unknown }): RouteService | undefined {
  if (s.kind !== "web" && s.kind !== "static") return undefined;
  const extra = ((s.inputs as { extra?: RoutedExtra }).extra ?? {}) as RoutedExtra;
  const routes = extra.routes ?? [];
  return {
    ref: s.spec.ref,
    kind: s.kind,
    domains: [...(extra.domains ?? []), ...routes.flatMap((r) => (r.domain ? [r.domain] : []))],
    pathPrefixes: routes.filter((r) => !r.domain && r.path !== "/").map((r) => r.path),
    health: { path: s.spec.health.path ?? "/", intervalMs: s.spec.health.intervalMs, timeoutMs: s.spec.health.timeoutMs },
  };
}

/** Public services of every environment that is not stopped, as the router wants them. */
export function routeServices(store: Store): RouteService[] {
  const out: RouteService[] = [];
  // Oldest environments first: buildRouteTable gives a contested route to the first claimant.
  const envs = store.environments.list().sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  for (const env of envs) {
    if (env.status === "stopping" || env.status === "stopped") continue;
    for (const s of store.services.list(env.id)) {
      const r = routeServiceOf(s);
      if (r) out.push(r);
    }
  }
  return out;
}

export class Routing {
  readonly #router: Router;
  readonly #store: Store;
  readonly #baseDomain: string;
  readonly #httpPort: number;
  #table: RouteTable | undefined;
  readonly #routed = new Set<string>();
  readonly #events: EventSink | undefined;
  /** Refusals already reported, so a refresh does not repeat them. */
  #reported = new Set<string>();

  constructor(deps: { router: Router; store: Store; baseDomain: string; httpPort: number; events?: EventSink }) {
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
    const wanted = routeServices(this.#store);
    const keys = new Set(wanted.map((s) => serviceKey(s.ref)));
    const services = options.prune ? wanted : [...wanted, ...this.#services.filter((s) => !keys.has(serviceKey(s.ref)))];
    this.#services = services;
    this.#table = buildRouteTable(services, { baseDomain: this.#baseDomain });
    this.#reportRefused(this.#table);
    await this.#router.setRoutes(this.#table);
    this.#routed.clear();
    for (const s of services) this.#routed.add(serviceKey(s.ref));
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

  /** Public URLs of a service (generated host first), as users open them. */
  urls(ref: ServiceRef): string[] {
    if (!this.#routed.has(serviceKey(ref))) return [];
    const port = this.#httpPort === 80 ? "" : `:${this.#httpPort}`;
    const backend = backendName(ref);
    const hosts = new Set([generatedHost(ref, this.#baseDomain)]);
    for (const r of this.#table?.routes ?? []) if (r.backend === backend) hosts.add(r.host);
    return [...hosts].map((h) => `http://${h}${port}`);
  }

  /**
   * Addresses of an environment's routed services, as `fromService` / `${svc.prop}` read them.
   * Private services have no routed address yet (their references fail with a clear reason).
   */
  serviceValues(project: string, environment: string, services: readonly string[]): Record<string, Record<string, string>> {
    const out: Record<string, Record<string, string>> = {};
    for (const service of services) {
      const [url] = this.urls({ project, environment, service });
      if (!url) continue;
      const u = new URL(url);
      const port = u.port || "80";
      out[service] = { host: u.hostname, port, hostport: `${u.hostname}:${port}`, url, publicUrl: url, publicHost: u.hostname };
    }
    return out;
  }
}
