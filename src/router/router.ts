/**
 * The router: owns the route table, renders it, keeps HAProxy running with the last good
 * configuration, moves instances through the runtime API and collects request metrics.
 *
 * A reload happens only when the structural fingerprint of the configuration (routes, backends,
 * listeners, slot counts — not which instance sits in which slot) changes.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BerthError } from "../core/errors.ts";
import type { EventSink } from "../core/events.ts";
import type { Endpoint, ServiceRef, TrafficPort } from "../engine/engine.ts";
import { defaultTimeouts, type HaproxySettings, renderHaproxyConfig, renderMapFiles, slotName } from "./haproxy-config.ts";
import { HaproxyProcess, validateHaproxyConfig } from "./haproxy-process.ts";
import { lastGeneration, recoverSlots } from "./recover.ts";
import { RequestLogReader } from "./request-log.ts";
import { type RequestMetrics, RequestMetricsStore } from "./request-metrics.ts";
import { backendName, emptyRouteTable, findBackend, type RouteTable } from "./routes.ts";
import type { RuntimeApi } from "./runtime-api.ts";
import { SlotRegistry } from "./slots.ts";
import { CertStore, DEFAULT_CERT } from "./tls/cert-store.ts";
import { ChallengeResponder } from "./tls/challenges.ts";
import { haproxyPem, InternalCa } from "./tls/internal-ca.ts";
import { HaproxyTrafficPort } from "./traffic.ts";
import { Waker, type WakeFn } from "./waker.ts";

export interface RouterOptions {
  /** Sockets, generations of config and maps, certificates, the internal CA. */
  readonly stateDir: string;
  /** Default `0.0.0.0`. */
  readonly bindHost?: string;
  readonly httpPort: number;
  /** Absent: no HTTPS listener (and no redirects). */
  readonly httpsPort?: number;
  readonly haproxyBinary?: string;
  readonly events?: EventSink;
  /** Server slots per backend before the first grow. Default 4. */
  readonly minSlots?: number;
  /** How long `trafficPort.add` waits for HAProxy to see an instance UP. Default 30 s. */
  readonly healthTimeoutMs?: number;
  readonly hstsMaxAgeSeconds?: number;
  /** Log one request in N for latency metrics. Default 1 (every request, exact counts). */
  readonly requestLogSampleEvery?: number;
  /** Answer ACME HTTP-01 challenges on the HTTP listener. Default: on when HTTPS is. */
  readonly acmeChallenges?: boolean;
  readonly timeouts?: Partial<HaproxySettings["timeouts"]>;
  /**
   * Issue 19: wakes a sleeping service. When set, a waker listens on `<stateDir>/waker.sock` and
   * backends of services that may sleep use it as their backup server.
   */
  readonly wake?: WakeFn;
  /** Every logged request, with the instance that served it (observability, issue 18). */
  readonly onRequest?: (sample: { backend: string; status: number; totalMs: number; instance?: string; weight: number }) => void;
}

export interface ApplyResult {
  readonly reloaded: boolean;
  readonly generation: number;
}

export class Router {
  readonly options: RouterOptions;
  readonly certs: CertStore;
  readonly ca: InternalCa;
  readonly trafficPort: TrafficPort;
  /** HTTP-01 challenge answers; the ACME issuer writes into it. */
  readonly challenges = new ChallengeResponder();
  readonly #metrics: RequestMetricsStore;
  readonly #logs: RequestLogReader;
  readonly #slots: SlotRegistry;
  readonly #haproxy: HaproxyProcess;
  readonly #waker: Waker | undefined;
  #table: RouteTable = emptyRouteTable;
  #fingerprint = "";
  #generation = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #running = false;
  /** Certificates the current worker has loaded (from the crt-list or added at runtime). */
  #loadedCerts = new Set<string>();

  constructor(options: RouterOptions) {
    this.options = options;
    this.#metrics = new RequestMetricsStore(options.requestLogSampleEvery ?? 1);
    this.certs = new CertStore(join(options.stateDir, "certs"));
    this.ca = new InternalCa(join(options.stateDir, "ca"));
    this.#slots = new SlotRegistry(options.minSlots ?? 4);
    this.#waker = options.wake ? new Waker({ socketPath: join(options.stateDir, "waker.sock"), wake: options.wake }) : undefined;
    this.#haproxy = new HaproxyProcess({
      binary: options.haproxyBinary,
      configPath: join(options.stateDir, "haproxy.cfg"),
      adminSocketPath: join(options.stateDir, "admin.sock"),
      masterSocketPath: join(options.stateDir, "master.sock"),
      events: options.events,
      onRestarted: async () => {
        await this.#lock(() => this.#resyncSlots());
        this.#logs.reattach();
      },
    });
    const weight = Math.max(1, Math.floor(options.requestLogSampleEvery ?? 1));
    this.#logs = new RequestLogReader(this.#haproxy.options.adminSocketPath, (e) => {
      this.#metrics.record(e);
      if (!options.onRequest) return;
      // issue 18: the slot (`s3`) names the instance that served the request.
      const slot = e.server?.startsWith("s") ? this.#slots.get(e.backend, Number(e.server.slice(1))) : undefined;
      options.onRequest({ backend: e.backend, status: e.status, totalMs: e.totalMs, weight, ...(slot ? { instance: slot.instanceId } : {}) });
    });
    this.trafficPort = new HaproxyTrafficPort({
      api: () => this.#haproxy.api,
      slots: this.#slots,
      backendOf: (ref) => findBackend(this.#table, ref)?.name,
      growSlots: async () => {
        await this.#apply(true);
      },
      lock: (fn) => this.#lock(fn),
      events: options.events,
      healthTimeoutMs: options.healthTimeoutMs,
    });
  }

  /** The runtime API of the running HAProxy (for diagnostics and tests). */
  get api(): RuntimeApi {
    return this.#haproxy.api;
  }

  /** PIDs of HAProxy's master and current worker (diagnostics, tests). */
  get haproxyPids(): { readonly master: number | undefined; readonly worker: number } {
    return { master: this.#haproxy.masterPid, worker: this.#haproxy.workerPid };
  }

  get table(): RouteTable {
    return this.#table;
  }

  get generation(): number {
    return this.#generation;
  }

  /**
   * Starts HAProxy with the current (initially empty) table and begins reading its request logs
   * — or adopts the HAProxy this state dir's previous daemon left running (issue 15). An
   * adopted one keeps serving its configuration and slots untouched: the slots are read back
   * from it, and nothing is re-rendered until the first `setRoutes` brings the real table.
   */
  async start(): Promise<void> {
    try {
      await this.#start();
    } catch (e) {
      // A start that fails (a taken port, HAProxy refusing its configuration) leaves nothing
      // listening: the challenge responder would otherwise keep the daemon's process alive.
      this.#logs.stop();
      await this.challenges.stop().catch(() => undefined);
      await this.#waker?.stop().catch(() => undefined);
      throw e;
    }
  }

  async #start(): Promise<void> {
    await mkdir(this.options.stateDir, { recursive: true, mode: 0o700 });
    if (this.#acmeOn) await this.challenges.start();
    await this.#waker?.start();
    if (this.options.httpsPort !== undefined && !this.certs.has(DEFAULT_CERT)) {
      const c = await this.ca.issue("berth.localhost", 3650);
      await this.certs.write(DEFAULT_CERT, haproxyPem(c));
    }
    await this.#lock(async () => {
      if (await this.#haproxy.adopt()) {
        const slots = await recoverSlots(this.#haproxy.api, this.#slots);
        this.#running = true;
        this.#generation = await lastGeneration(join(this.options.stateDir, "gen"));
        this.#loadedCerts = new Set(this.certs.names());
        this.#logs.reattach();
        this.options.events?.emit({ type: "router:adopted", data: { pid: this.#haproxy.masterPid ?? 0, worker: this.#haproxy.workerPid, slots } });
        return;
      }
      await this.#apply(true);
    });
  }

  /**
   * Level-based rotation of one service (issue 15): exactly `wanted` (its healthy instances) sit
   * in its backend. Slots holding the same endpoint keep it (renamed to the instance: slots read
   * back from an adopted HAProxy carry no instance id), others are parked, missing ones added.
   * The engine's traffic calls during rollouts stay the fast path; this repairs what they could
   * not see (a daemon restart, instances restarted while no rollout was known).
   */
  async converge(ref: ServiceRef, wanted: readonly { readonly instanceId: string; readonly endpoint: Endpoint }[]): Promise<void> {
    if (!this.#running) return;
    const backend = findBackend(this.#table, ref)?.name;
    if (!backend) return;
    const key = (e: Endpoint) => `${e.host}:${e.port}`;
    const want = new Map(wanted.map((w) => [key(w.endpoint), w]));
    const missing = await this.#lock(async () => {
      const api = this.#haproxy.api;
      const present = new Set<string>();
      for (const { backend: b, slot, entry } of this.#slots.entries()) {
        if (b !== backend) continue;
        const w = want.get(key(entry.endpoint));
        if (w && !present.has(key(entry.endpoint))) {
          present.add(key(entry.endpoint));
          if (entry.instanceId !== w.instanceId || entry.state !== "ready") {
            this.#slots.set(backend, slot, w.instanceId, entry.endpoint, "ready");
            if (entry.state !== "ready") await api.setServerState(backend, slotName(slot), "ready");
          }
          continue;
        }
        await api.setServerState(backend, slotName(slot), "maint");
        await api.shutdownSessions(backend, slotName(slot));
        this.#slots.release(backend, slot);
        this.options.events?.emit({ type: "router:server-removed", scope: ref, data: { backend, instance: entry.instanceId, drainedMs: 0 } });
      }
      return wanted.filter((w) => !present.has(key(w.endpoint)));
    });
    for (const w of missing) await this.trafficPort.add(ref, w.instanceId, w.endpoint);
  }

  /** Stops reading logs and stops HAProxy (graceful: lets open connections finish). */
  async stop(options: { graceful?: boolean } = {}): Promise<void> {
    await this.#queue.catch(() => {});
    this.#running = false;
    this.#logs.stop();
    await this.#haproxy.stop({ graceful: options.graceful ?? false });
    await this.challenges.stop();
    await this.#waker?.stop();
  }

  get #acmeOn(): boolean {
    return this.options.acmeChallenges ?? this.options.httpsPort !== undefined;
  }

  /** Replaces the route table; reloads HAProxy only if services or listeners changed. */
  setRoutes(table: RouteTable): Promise<ApplyResult> {
    return this.#lock(async () => {
      const previous = this.#table;
      this.#table = table;
      try {
        const result = await this.#apply(false);
        this.#slots.retain(new Set(table.backends.map((b) => b.name)));
        return result;
      } catch (e) {
        this.#table = previous;
        throw e;
      }
    });
  }

  /** Request metrics of one service since the router started, or undefined if none seen. */
  requestMetrics(ref: ServiceRef): RequestMetrics | undefined {
    return this.#metrics.get(backendName(ref));
  }

  /** Stores a certificate (chain + key PEM) and loads it into the running HAProxy without a reload. */
  async installCertificate(domain: string, pem: string): Promise<void> {
    await this.#lock(async () => {
      await this.certs.write(domain, pem);
      if (!this.#running || this.options.httpsPort === undefined) return;
      const path = this.certs.pathOf(domain);
      const isNew = !this.#loadedCerts.has(domain);
      await this.#haproxy.api.setCertificate(path, pem, { isNew, crtList: this.certs.crtListPath });
      this.#loadedCerts.add(domain);
    });
  }

  /**
   * Deletes a stored certificate and unloads it from the running HAProxy (issue 19: a destroyed
   * preview's hosts). Should the runtime API refuse, HAProxy is reloaded from the crt-list, which
   * no longer names it. False when no certificate was stored for `domain`.
   */
  async removeCertificate(domain: string): Promise<boolean> {
    return this.#lock(async () => {
      if (!this.certs.has(domain)) return false;
      const path = this.certs.pathOf(domain);
      let unloaded = !this.#running || this.options.httpsPort === undefined || !this.#loadedCerts.has(domain);
      if (!unloaded) {
        try {
          await this.#haproxy.api.deleteCertificate(path, this.certs.crtListPath);
          unloaded = true;
        } catch {
          // reloaded below, from a crt-list without it
        }
      }
      await this.certs.remove(domain);
      this.#loadedCerts.delete(domain);
      if (!unloaded) await this.#apply(true);
      return true;
    });
  }

  #lock<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => {});
    return next;
  }

  #settings(mapDir: string, servers: HaproxySettings["servers"]): HaproxySettings {
    const o = this.options;
    return {
      bindHost: o.bindHost ?? "0.0.0.0",
      httpPort: o.httpPort,
      httpsPort: o.httpsPort,
      mapDir,
      crtListPath: this.certs.crtListPath,
      adminSocketPath: this.#haproxy.options.adminSocketPath,
      logSampleEvery: o.requestLogSampleEvery ?? 1,
      acmeResponder: this.#acmeOn ? this.challenges.endpoint : undefined,
      ...(this.#waker ? { wakerSocket: this.#waker.socketPath } : {}),
      hstsMaxAgeSeconds: o.hstsMaxAgeSeconds ?? 31_536_000,
      slotsPerBackend: (b) => this.#slots.count(b),
      servers,
      timeouts: { ...defaultTimeouts, ...o.timeouts },
    };
  }

  /** Must run under the lock. */
  async #apply(force: boolean): Promise<ApplyResult> {
    const table = this.#table;
    const maps = renderMapFiles(table);
    const structural = renderHaproxyConfig(table, this.#settings("@maps", new Map()));
    const fingerprint = createHash("sha256").update(structural).update(JSON.stringify(maps)).update(this.certs.renderCrtList()).digest("hex");
    if (!force && this.#running && fingerprint === this.#fingerprint) return { reloaded: false, generation: this.#generation };

    const generation = this.#generation + 1;
    const genDir = join(this.options.stateDir, "gen", String(generation));
    await mkdir(genDir, { recursive: true, mode: 0o700 });
    for (const [name, content] of Object.entries(maps)) await writeFile(join(genDir, name), content);
    const config = renderHaproxyConfig(table, this.#settings(genDir, this.#slots.snapshot()));
    const candidate = join(genDir, "haproxy.cfg");
    await writeFile(candidate, config, { mode: 0o600 });
    if (this.options.httpsPort !== undefined) await writeFile(this.certs.crtListPath, this.certs.renderCrtList(), { mode: 0o600 });
    const check = await validateHaproxyConfig(candidate, this.options.haproxyBinary);
    if (!check.ok) {
      this.options.events?.emit({ type: "router:config-rejected", data: { generation, detail: check.output.slice(0, 500) } });
      await rm(genDir, { recursive: true, force: true });
      throw new BerthError("BERTH_ROUTER_CONFIG_INVALID", { detail: check.output.slice(0, 500) });
    }
    const t0 = Date.now();
    const active = this.#haproxy.options.configPath;
    await writeFile(`${active}.tmp`, config, { mode: 0o600 });
    await rename(`${active}.tmp`, active);
    if (this.#running) {
      await this.#haproxy.reload();
      await this.#resyncSlots();
    } else {
      await this.#haproxy.start();
      this.#running = true;
      this.options.events?.emit({
        type: "router:started",
        data: { pid: this.#haproxy.masterPid ?? 0, httpPort: this.options.httpPort, httpsPort: this.options.httpsPort ?? 0 },
      });
    }
    this.#logs.reattach();
    this.#loadedCerts = new Set(this.certs.names());
    this.#generation = generation;
    this.#fingerprint = fingerprint;
    this.options.events?.emit({ type: "router:reloaded", data: { generation, backends: table.backends.length, ms: Date.now() - t0 } });
    await this.#pruneGenerations(generation);
    return { reloaded: true, generation };
  }

  /** After a reload, re-asserts slot addresses and states (a change may have raced the render). */
  async #resyncSlots(): Promise<void> {
    const api = this.#haproxy.api;
    for (const { backend, slot, entry } of this.#slots.entries()) {
      await api.setServerAddr(backend, slotName(slot), entry.endpoint.host, entry.endpoint.port);
      await api.setServerState(backend, slotName(slot), entry.state);
    }
  }

  async #pruneGenerations(current: number): Promise<void> {
    const dir = join(this.options.stateDir, "gen");
    for (const name of await readdir(dir)) {
      if (Number(name) < current - 1) await rm(join(dir, name), { recursive: true, force: true });
    }
  }
}
