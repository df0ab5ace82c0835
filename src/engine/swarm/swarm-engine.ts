/**
 * The Swarm engine: every service a Docker Swarm service, driven through the Engine API. Swarm
 * does the rollout (start-first update, automatic rollback when a new task fails its health
 * check), restarts and placement; Berth builds the images, keeps env in Swarm secrets, and
 * watches the tasks API to gate instances and move traffic. Decisions: docs/design/engine-swarm.md.
 */
import { createHash } from "node:crypto";
import { BerthError } from "../../core/errors.ts";
import type { EventMap, EventType } from "../../core/events.ts";
import type {
  ActualInstance, ActualService, Engine, EngineDeps, EnvironmentNetwork, EnvironmentRef, InstanceStats, LogLine, LogSelector, Release, Rollout,
  RolloutEvent, ServiceRef, ServiceSpec, TaskResult, TaskSpec,
} from "../engine.ts";
import { serviceKey } from "../engine.ts";
import { type DockerApi, filters } from "./docker-api.ts";
import { ImageBuilder } from "./image.ts";
import { type DockerTask, instancesOf, type SwarmInstance } from "./instances.ts";
import { swarmNetworkCreate, swarmNetworkName } from "./network.ts";
import { type SwarmLogSource, readLogs } from "./logs.ts";
import { engineEnv, envSecretName, generationOf, L, planSwarmService, renderEnvFile, specHash, swarmServiceName } from "./service-spec.ts";
import { runSwarmTask } from "./task.ts";
import { Tracker, type TrackedService } from "./tracker.ts";

export interface SwarmEngineOptions extends EngineDeps {
  readonly docker: DockerApi;
  /** `host:port` of the registry every node pulls from (Berth's `docker-registry`). */
  readonly registry: string;
  /** Separates Berth installs (and test runs) sharing one swarm. Default `berth`. */
  readonly namespace?: string;
  /** Node binary baked into runtime images (default: the one running Berth). */
  readonly nodeBinary?: string;
  /** How often the tasks API is read (default 500 ms). */
  readonly pollMs?: number;
  /** Time an old task keeps serving after Swarm stops it, for the router to take it out (default 2 s). */
  readonly drainMs?: number;
  readonly restartDelayMs?: number;
  readonly minHealthIntervalMs?: number;
  /** Finished one-off task services kept per service, for their logs (default 10). */
  readonly keepTasks?: number;
}

/** What Docker answers for a service (the fields used here). */
export interface DockerService {
  readonly ID: string;
  readonly Version: { readonly Index: number };
  readonly CreatedAt: string;
  readonly Spec: { readonly Name: string; readonly Labels?: Record<string, string>; readonly TaskTemplate: { readonly ContainerSpec: { readonly Labels?: Record<string, string>; readonly Secrets?: { SecretName: string }[] } }; readonly Mode: { Replicated?: { Replicas: number } } };
  readonly PreviousSpec?: DockerService["Spec"];
  readonly UpdateStatus?: { readonly State?: string; readonly StartedAt?: string; readonly Message?: string };
}

const FAILED_UPDATE = new Set(["rollback_started", "rollback_completed", "rollback_paused", "paused"]);

export class SwarmEngine implements Engine {
  readonly name = "swarm";
  readonly #o: SwarmEngineOptions;
  readonly #d: DockerApi;
  readonly #ns: string;
  readonly #images: ImageBuilder;
  readonly #tracker: Tracker;
  readonly #redact: (t: string) => string;
  readonly #drainMs: number;
  readonly #restartDelayMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #ticking: Promise<void> | undefined;
  #nodes = new Map<string, { readonly addr: string; readonly hostname: string }>();

  constructor(options: SwarmEngineOptions) {
    this.#o = options;
    this.#d = options.docker;
    this.#ns = options.namespace ?? "berth";
    this.#redact = options.redact ?? ((t) => t);
    this.#drainMs = options.drainMs ?? 2000;
    this.#restartDelayMs = options.restartDelayMs ?? 1000;
    this.#images = new ImageBuilder({ docker: options.docker, registry: options.registry, nodeBinary: options.nodeBinary ?? process.execPath });
    this.#tracker = new Tracker({ events: options.events, restartDelayMs: this.#restartDelayMs, drainMs: this.#drainMs });
  }

  async start(): Promise<void> {
    if (this.#running) return;
    const info = await this.#d.json<{ Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } }>({ path: "/info" });
    if (info.Swarm?.LocalNodeState !== "active" || !info.Swarm.ControlAvailable) {
      throw new BerthError("BERTH_SWARM_API_FAILED", { method: "GET", path: "/info", status: 200, detail: `this dockerd is not a swarm manager (swarm state: ${info.Swarm?.LocalNodeState ?? "unknown"})` });
    }
    this.#running = true;
    await this.#tick(true);
    const loop = (): void => {
      this.#timer = setTimeout(async () => {
        await this.#tick(false).catch((e: unknown) => this.#warn(`reading the swarm's tasks: ${e instanceof Error ? e.message : String(e)}`));
        if (this.#running) loop();
      }, this.#o.pollMs ?? 500);
    };
    loop();
  }

  async stop(options: { readonly stopInstances: boolean }): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    clearTimeout(this.#timer);
    await this.#ticking?.catch(() => {});
    if (options.stopInstances) {
      for (const s of [...this.#tracker.services.values()]) await this.#tracker.forget(s);
      for (const svc of await this.#ourServices()) await this.#d.json({ method: "DELETE", path: `/services/${svc.ID}` }).catch(() => {});
    }
    this.#tracker.services.clear();
  }

  apply(spec: ServiceSpec, release: Release, rollout: Rollout, signal: AbortSignal): AsyncIterable<RolloutEvent> {
    return this.#apply(spec, release, rollout, signal);
  }

  async *#apply(spec: ServiceSpec, release: Release, rollout: Rollout, signal: AbortSignal): AsyncGenerator<RolloutEvent> {
    this.#mustRun();
    const t0 = Date.now();
    const ev = (step: RolloutEvent["step"], detail: string, extra: Partial<RolloutEvent> = {}): RolloutEvent => ({ step, detail, ms: Date.now() - t0, ...extra });
    const key = serviceKey(spec.ref);
    const name = swarmServiceName(this.#ns, spec.ref);
    const existing = await this.#d.find<DockerService>({ path: `/services/${name}` });
    const generation = generationOf(spec, release);
    const replicas = spec.singleton ? 1 : spec.replicas;
    const tracked = this.#tracker.track(key, spec.ref, spec);
    tracked.rollout = rollout;
    const sameGeneration = existing?.Spec.TaskTemplate.ContainerSpec.Labels?.[L.generation] === generation;
    if (existing && sameGeneration && existing.Spec.Mode.Replicated?.Replicas === replicas) {
      tracked.spec = spec;
      yield ev("done", `release ${release.number} already runs with this spec`);
      return;
    }
    let body: Record<string, unknown>;
    try {
      const opened = await this.#o.openEnv(release);
      const image = await this.#images.imageFor(release);
      await this.#ensureNetwork(spec.ref);
      const secret = await this.#ensureSecret(spec.ref, renderEnvFile(spec.ref, opened, new Set([...Object.keys(engineEnv(spec, release)), "BERTH_START"])));
      body = planSwarmService(spec, release, rollout.policy, {
        namespace: this.#ns, image, secret, drainMs: this.#drainMs, restartDelayMs: this.#restartDelayMs, minHealthIntervalMs: this.#o.minHealthIntervalMs ?? 500,
      });
    } catch (e) {
      yield ev("failed", e instanceof Error ? e.message : String(e), { failedStep: "start" });
      return;
    }
    const before = existing?.UpdateStatus?.StartedAt;
    if (existing) {
      await this.#d.json({ method: "POST", path: `/services/${existing.ID}/update`, query: { version: existing.Version.Index }, body });
    } else {
      await this.#d.json({ method: "POST", path: "/services/create", body });
    }
    tracked.spec = spec;
    const rolling = !!existing && !sameGeneration;
    yield ev(existing ? (rolling ? "start" : "scale") : "start", existing ? (rolling ? `rolling update to release ${release.number} (${(body.UpdateConfig as { Order: string }).Order})` : `scaling to ${replicas}`) : `creating ${replicas} task(s) of release ${release.number}`);
    const deadline = Date.now() + Math.max(spec.health.deployTimeoutMs, 30_000) + (existing ? 2 * (spec.health.graceMs + 1000) * replicas : 0);
    for (;;) {
      if (signal.aborted || Date.now() > deadline) {
        const why = signal.aborted ? "aborted" : `health: not every instance of release ${release.number} was healthy in time`;
        yield ev("failed", await this.#undo(existing, name, why), { failedStep: "health" });
        return;
      }
      await this.#tick(false);
      const svc = await this.#d.find<DockerService>({ path: `/services/${name}` });
      if (!svc) {
        yield ev("failed", "the service disappeared during the rollout", { failedStep: "start" });
        return;
      }
      const status = svc.UpdateStatus;
      if (rolling && status?.StartedAt !== before && status?.State && FAILED_UPDATE.has(status.State)) {
        if (status.State !== "rollback_completed" && status.State !== "rollback_paused") {
          await sleep(100);
          continue;
        }
        await this.#waitSettled(tracked, svc, deadline);
        const task = await this.#failedTask(svc.ID, generation);
        yield ev("failed", `health check of release ${release.number} failed${task ? ` (${task})` : ""}; Swarm rolled back to release ${svc.Spec.Labels?.[L.releaseNumber] ?? "?"}: ${status.Message ?? ""}`.trim(), { failedStep: "health" });
        return;
      }
      const gateFailed = this.#tracker.gateFailure(tracked, generation);
      if (gateFailed) {
        yield ev("failed", await this.#undo(existing, name, `health gate failed for ${gateFailed}`), { failedStep: "health", instanceId: gateFailed });
        return;
      }
      if (!existing) {
        const failed = await this.#failedTask(svc.ID, generation);
        if (failed) {
          yield ev("failed", await this.#undo(undefined, name, `health: a task of release ${release.number} failed (${failed})`), { failedStep: "health" });
          return;
        }
      }
      const updateDone = !rolling || (status?.StartedAt !== before && status?.State === "completed");
      if (updateDone && this.#tracker.settled(tracked, generation, replicas)) break;
      await sleep(100);
    }
    for (const i of tracked.view.values()) yield ev("switch", `${i.id} in rotation`, { instanceId: i.id });
    yield ev("done", `release ${release.number}: ${replicas} healthy instance(s)`);
    await this.#gcSecrets().catch(() => {});
  }

  /** Stops a failed first deploy (nothing to fall back to), or rolls an update back. Returns the detail. */
  async #undo(existing: DockerService | undefined, name: string, why: string): Promise<string> {
    if (!existing) {
      await this.#d.json({ method: "DELETE", path: `/services/${name}` }).catch(() => {});
      return `${why}; the new service was removed`;
    }
    const svc = await this.#d.find<DockerService>({ path: `/services/${name}` });
    if (svc?.PreviousSpec) await this.#d.json({ method: "POST", path: `/services/${svc.ID}/update`, query: { version: svc.Version.Index, rollback: "previous" }, body: svc.PreviousSpec }).catch(() => {});
    return `${why}; rolled back to the previous release`;
  }

  async #waitSettled(tracked: TrackedService, svc: DockerService, deadline: number): Promise<void> {
    const generation = svc.Spec.TaskTemplate.ContainerSpec.Labels?.[L.generation] ?? "";
    const replicas = svc.Spec.Mode.Replicated?.Replicas ?? 0;
    const spec = svc.Spec.Labels?.[L.spec];
    if (spec) tracked.spec = JSON.parse(spec) as ServiceSpec;
    while (Date.now() < deadline && !this.#tracker.settled(tracked, generation, replicas)) {
      await this.#tick(false);
      await sleep(100);
    }
  }

  /** "task: non-zero exit (1)" of the newest failed task of `generation`, if any. */
  async #failedTask(serviceId: string, generation: string): Promise<string | undefined> {
    const tasks = await this.#d.json<DockerTask[]>({ path: "/tasks", query: { filters: filters({ service: [serviceId] }) } });
    const failed = tasks.filter((t) => t.Spec.ContainerSpec?.Labels?.[L.generation] === generation && (t.Status.State === "failed" || t.Status.State === "rejected"));
    return failed.at(-1) ? (failed.at(-1)!.Status.Err ?? failed.at(-1)!.Status.State) : undefined;
  }

  runTask(spec: TaskSpec, signal: AbortSignal): Promise<TaskResult> {
    this.#mustRun();
    return runSwarmTask(spec, signal, {
      docker: this.#d,
      namespace: this.#ns,
      redact: this.#redact,
      keep: this.#o.keepTasks ?? 10,
      emit: (type, data) => this.#emit(spec.service.ref, type, data),
      prepare: async () => {
        const opened = await this.#o.openEnv(spec.release);
        const image = await this.#images.imageFor(spec.release);
        await this.#ensureNetwork(spec.service.ref);
        const reserved = new Set([...Object.keys(engineEnv(spec.service, spec.release)), "BERTH_START", "PORT"]);
        const secret = await this.#ensureSecret(spec.service.ref, renderEnvFile(spec.service.ref, { ...opened, ...spec.extraEnv }, reserved));
        return { image, secret };
      },
    });
  }

  async actual(env: EnvironmentRef): Promise<readonly ActualService[]> {
    this.#mustRun();
    const services = (await this.#ourServices()).filter((s) => s.Spec.Labels?.[L.project] === env.project && s.Spec.Labels?.[L.environment] === env.environment);
    const tasks = await this.#tasksOf(services);
    return services.map((s) => {
      const spec = JSON.parse(s.Spec.Labels![L.spec]!) as ServiceSpec;
      return { ref: spec.ref, spec, releaseId: s.Spec.Labels![L.releaseId]!, instances: this.#instances(s, spec, tasks).map(publicView) };
    });
  }

  logs(selector: LogSelector): AsyncIterable<LogLine> {
    const source: SwarmLogSource = {
      docker: this.#d,
      redact: this.#redact,
      services: async () => (await this.#ourServices(true)).filter((s) => s.Spec.Labels?.[L.project] === selector.service.project && s.Spec.Labels?.[L.environment] === selector.service.environment && s.Spec.Labels?.[L.service] === selector.service.service),
      instanceOf: async (serviceIds) => {
        const services = (await this.#ourServices(true)).filter((s) => serviceIds.includes(s.ID));
        const tasks = await this.#tasksOf(services);
        const map = new Map<string, string>();
        for (const s of services) {
          const task = s.Spec.Labels?.[L.task];
          for (const t of tasks.filter((x) => x.ServiceID === s.ID)) {
            if (task) map.set(t.ID, task);
            else map.set(t.ID, `${selector.service.service}.${t.Slot ?? 0}.${t.Spec.ContainerSpec?.Labels?.[L.generation] ?? ""}`);
          }
        }
        return map;
      },
    };
    return readLogs(source, selector);
  }

  async stats(service: ServiceRef, instanceId: string): Promise<InstanceStats | undefined> {
    const svc = await this.#d.find<DockerService>({ path: `/services/${swarmServiceName(this.#ns, service)}` });
    if (!svc) return undefined;
    const spec = JSON.parse(svc.Spec.Labels?.[L.spec] ?? "null") as ServiceSpec | null;
    if (!spec) return undefined;
    const inst = this.#instances(svc, spec, await this.#tasksOf([svc])).find((i) => i.id === instanceId);
    if (!inst?.containerId || inst.state === "exited") return undefined;
    // Only this node's containers are visible through this socket (other nodes: next slice).
    const s = await this.#d.find<{ memory_stats?: { usage?: number; stats?: { cache?: number; total_inactive_file?: number } }; cpu_stats?: { cpu_usage?: { total_usage?: number } } }>({
      path: `/containers/${inst.containerId}/stats`,
      query: { stream: false, "one-shot": true },
    });
    if (!s?.memory_stats?.usage) return undefined;
    const uptimeMs = Math.max(0, Date.now() - Date.parse(inst.startedAt));
    const cpuNs = s.cpu_stats?.cpu_usage?.total_usage ?? 0;
    const inactive = s.memory_stats.stats?.total_inactive_file ?? 0;
    return { cpuPercent: uptimeMs > 0 ? (cpuNs / 1e6 / uptimeMs) * 100 : 0, rssBytes: Math.max(1, s.memory_stats.usage - inactive), uptimeMs };
  }

  async remove(service: ServiceRef, _signal: AbortSignal): Promise<void> {
    this.#mustRun();
    const tracked = this.#tracker.services.get(serviceKey(service));
    if (tracked) await this.#tracker.forget(tracked);
    const mine = (await this.#ourServices(true)).filter((s) => s.Spec.Labels?.[L.project] === service.project && s.Spec.Labels?.[L.environment] === service.environment && s.Spec.Labels?.[L.service] === service.service);
    for (const s of mine) await this.#d.json({ method: "DELETE", path: `/services/${s.ID}` }).catch(() => {});
  }

  /** Swarm's DNS gives the names once services attach with their aliases: only the network must exist. */
  async setNetwork(network: EnvironmentNetwork): Promise<void> {
    await this.#ensureNetwork(network.env);
  }

  // ---- internals --------------------------------------------------------------------------

  #mustRun(): void {
    if (!this.#running) throw new BerthError("BERTH_ENGINE_STOPPED", { engine: this.name });
  }

  /** Reads services and tasks once and hands every tracked service its instances. */
  #tick(adopting: boolean): Promise<void> {
    if (this.#ticking) return this.#ticking;
    this.#ticking = (async () => {
      const services = await this.#ourServices();
      const tasks = await this.#tasksOf(services);
      const seen = new Set<string>();
      const handled: Promise<void>[] = [];
      for (const svc of services) {
        const spec = JSON.parse(svc.Spec.Labels![L.spec]!) as ServiceSpec;
        const key = serviceKey(spec.ref);
        seen.add(key);
        const tracked = this.#tracker.track(key, spec.ref, this.#tracker.services.get(key)?.spec ?? spec);
        handled.push(this.#tracker.observe(tracked, this.#instances(svc, tracked.spec, tasks), adopting, svc.Spec.TaskTemplate.ContainerSpec.Labels?.[L.generation] ?? ""));
      }
      for (const [key, tracked] of this.#tracker.services) {
        if (!seen.has(key) && tracked.known.size > 0) handled.push(this.#tracker.observe(tracked, [], false));
      }
      // Adoption and the caller's own look wait; background ticks do not wait for gates.
      if (adopting) await Promise.all(handled);
    })().finally(() => {
      this.#ticking = undefined;
    });
    return this.#ticking;
  }

  #instances(svc: DockerService, spec: ServiceSpec, tasks: readonly DockerTask[]): SwarmInstance[] {
    return instancesOf({
      spec,
      generation: svc.Spec.TaskTemplate.ContainerSpec.Labels?.[L.generation] ?? "",
      tasks: tasks.filter((t) => t.ServiceID === svc.ID),
      nodeAddr: (id) => (id && this.#nodes.get(id)?.addr) || "127.0.0.1",
      nodeName: (id) => this.#nodes.get(id)?.hostname,
    });
  }

  /** Berth's long-running services in this namespace (and its one-off task services when asked). */
  async #ourServices(withTasks = false): Promise<DockerService[]> {
    const all = await this.#d.json<DockerService[]>({ path: "/services", query: { filters: filters({ label: [`${L.ns}=${this.#ns}`] }) } });
    return all.filter((s) => withTasks || s.Spec.Labels?.[L.role] === "service");
  }

  async #tasksOf(services: readonly DockerService[]): Promise<DockerTask[]> {
    if (services.length === 0) return [];
    const tasks = await this.#d.json<DockerTask[]>({ path: "/tasks", query: { filters: filters({ service: services.map((s) => s.ID) }) } });
    if (tasks.some((t) => t.NodeID && !this.#nodes.has(t.NodeID))) {
      const nodes = await this.#d.json<{ ID: string; Description?: { Hostname?: string }; Status?: { Addr?: string } }[]>({ path: "/nodes" });
      this.#nodes = new Map(nodes.map((n) => [n.ID, { addr: n.Status?.Addr && n.Status.Addr !== "0.0.0.0" ? n.Status.Addr : "127.0.0.1", hostname: n.Description?.Hostname ?? n.ID.slice(0, 12) }]));
    }
    return tasks;
  }

  async #ensureNetwork(env: EnvironmentRef): Promise<void> {
    const name = swarmNetworkName(env);
    if (await this.#d.find({ path: `/networks/${name}` })) return;
    await this.#d.json({ method: "POST", path: "/networks/create", body: { ...swarmNetworkCreate(env), Labels: { ...swarmNetworkCreate(env).Labels, [L.ns]: this.#ns } } }).catch(async (e: unknown) => {
      if (!(await this.#d.find({ path: `/networks/${name}` }))) throw e;
    });
  }

  /** The env secret of this content (created once; secrets are immutable in Swarm). */
  async #ensureSecret(ref: ServiceRef, envFile: string): Promise<{ name: string; id: string }> {
    const name = envSecretName(this.#ns, ref, envFile);
    const found = await this.#d.find<{ ID: string }>({ path: `/secrets/${name}` });
    if (found) return { name, id: found.ID };
    const labels = { [L.ns]: this.#ns, [L.project]: ref.project, [L.environment]: ref.environment, [L.service]: ref.service, "berth.sha256": createHash("sha256").update(envFile).digest("hex") };
    const created = await this.#d.json<{ ID: string }>({ method: "POST", path: "/secrets/create", body: { Name: name, Labels: labels, Data: Buffer.from(envFile).toString("base64") } });
    return { name, id: created.ID };
  }

  /** Removes env secrets no service (nor its previous spec) references; young ones may be in flight. */
  async #gcSecrets(): Promise<void> {
    const secrets = await this.#d.json<{ ID: string; CreatedAt: string; Spec: { Name: string } }[]>({ path: "/secrets", query: { filters: filters({ label: [`${L.ns}=${this.#ns}`] }) } });
    const used = new Set<string>();
    for (const s of await this.#ourServices(true)) {
      for (const spec of [s.Spec, s.PreviousSpec]) for (const x of spec?.TaskTemplate.ContainerSpec.Secrets ?? []) used.add(x.SecretName);
    }
    for (const s of secrets) {
      if (used.has(s.Spec.Name) || Date.now() - Date.parse(s.CreatedAt) < 60_000) continue;
      await this.#d.json({ method: "DELETE", path: `/secrets/${s.ID}` }).catch(() => {});
    }
  }

  #emit<T extends EventType>(ref: ServiceRef, type: T, data: EventMap[T]): void {
    this.#o.events.emit({ type, scope: { project: ref.project, environment: ref.environment, service: ref.service }, actor: "system", data });
  }

  #warn(message: string): void {
    this.#o.events.emit({ type: "engine:warning", actor: "system", data: { message } });
  }
}

/** The seam's view of an instance (without the engine's task bookkeeping). */
function publicView(i: SwarmInstance): ActualInstance {
  const { tasks: _t, taskId: _id, containerId: _c, nodeId: _n, generation: _g, ...rest } = i;
  return rest;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export { specHash };
