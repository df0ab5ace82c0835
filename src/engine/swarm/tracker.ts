/**
 * Supervision of Swarm services from outside: Swarm restarts, reschedules and rolls back tasks by
 * itself; Berth watches the tasks API and turns what changed into instance events and traffic
 * changes (gate, then `add`; `remove` as soon as a task is being stopped or has ended). One
 * snapshot at a time per service, latest wins, so a slow gate never queues stale work.
 */
import type { EventMap, EventSink, EventType } from "../../core/events.ts";
import type { Endpoint, HealthResult, Rollout, ServiceRef, ServiceSpec } from "../engine.ts";
import { exitOf, isTerminal, ran, type SwarmInstance } from "./instances.ts";

interface Known {
  taskId: string;
  /** Task ids whose end was already reported (or predates adoption). */
  readonly ended: Set<string>;
  /** The endpoint in rotation, if any. */
  inRotation?: Endpoint;
  /** When Swarm was first seen stopping it while it was in rotation (its drain window started). */
  leavingSince?: number;
  /** The task whose gate ran (passed or not). */
  gated?: string;
  gateFailed?: string;
  failedReported: boolean;
}

export interface TrackedService {
  readonly ref: ServiceRef;
  spec: ServiceSpec;
  rollout?: Rollout;
  readonly known: Map<string, Known>;
  /** The generation of the service's current task template (the one a rollout brings in). */
  generation?: string;
  /** The last instances seen, by id. */
  view: Map<string, SwarmInstance>;
  busy?: Promise<void>;
  next?: SwarmInstance[];
  /** Set by remove(): the tracker no longer acts on it. */
  gone?: boolean;
}

export interface TrackerOptions {
  readonly events: EventSink;
  readonly restartDelayMs: number;
  /** How long a task Swarm stops keeps serving (the drain wrapper, service-spec.ts). */
  readonly drainMs: number;
}

export class Tracker {
  readonly #o: TrackerOptions;
  readonly services = new Map<string, TrackedService>();

  constructor(options: TrackerOptions) {
    this.#o = options;
  }

  /** The tracked entry of a service, created on first sight. */
  track(key: string, ref: ServiceRef, spec: ServiceSpec): TrackedService {
    let s = this.services.get(key);
    if (!s) {
      s = { ref, spec, known: new Map(), view: new Map() };
      this.services.set(key, s);
    }
    return s;
  }

  /**
   * Hands a snapshot of a service's instances to its handler. `adopting`: the instances are
   * already running (daemon restart) — reported as adopted, not started.
   */
  observe(s: TrackedService, instances: SwarmInstance[], adopting: boolean, generation?: string): Promise<void> {
    if (s.gone) return Promise.resolve();
    if (generation !== undefined) s.generation = generation;
    if (adopting) {
      s.view = new Map(instances.map((i) => [i.id, i]));
      for (const i of instances) {
        s.known.set(i.id, { taskId: i.taskId, ended: new Set(i.tasks.filter(isTerminal).map((t) => t.ID)), failedReported: i.state === "exited", ...(i.state === "healthy" ? { gated: i.taskId } : {}) });
        if (i.pid) this.#emit(s.ref, "instance:adopted", { instance: i.id, pid: i.pid });
      }
      return Promise.resolve();
    }
    s.next = instances;
    if (!s.busy) {
      s.busy = (async () => {
        while (s.next && !s.gone) {
          const snapshot = s.next;
          s.next = undefined;
          await this.#handle(s, snapshot).catch((e: unknown) => this.#emit(s.ref, "engine:warning", { message: `swarm supervision of ${s.ref.service}: ${e instanceof Error ? e.message : String(e)}` }));
        }
        s.busy = undefined;
      })();
    }
    return s.busy;
  }

  /** Whether the instance's current task is still the one given and has not ended. */
  alive(s: TrackedService, id: string, taskId: string): boolean {
    const i = s.view.get(id);
    return !!i && i.taskId === taskId && i.state !== "exited" && !isTerminal(i.tasks.at(-1)!);
  }

  /** Takes every instance out of rotation and reports it stopped (remove, or stop with instances). */
  async forget(s: TrackedService): Promise<void> {
    s.gone = true;
    await s.busy;
    for (const [id, k] of s.known) {
      if (k.inRotation && s.rollout) await s.rollout.traffic.remove(s.ref, id, { drainMs: s.spec.shutdownDelayMs });
      this.#emit(s.ref, "instance:stopped", { instance: id });
    }
    s.known.clear();
    for (const [key, v] of this.services) if (v === s) this.services.delete(key);
  }

  async #handle(s: TrackedService, instances: SwarmInstance[]): Promise<void> {
    s.view = new Map(instances.map((i) => [i.id, i]));
    const gates: Promise<void>[] = [];
    for (const i of instances) {
      let k = s.known.get(i.id);
      if (!k) {
        k = { taskId: i.taskId, ended: new Set(), failedReported: false };
        s.known.set(i.id, k);
        if (i.pid || i.state === "healthy") this.#emit(s.ref, "instance:started", { instance: i.id, release: i.releaseNumber, ...(i.pid ? { pid: i.pid } : {}), ...(i.endpoint ? { port: i.endpoint.port } : {}) });
      }
      // Tasks of this instance that ended since the last look: out of rotation, say how.
      for (const t of i.tasks) {
        // Only ends of tasks that ran: Swarm also creates and calls off tasks that never start.
        if (!isTerminal(t) || k.ended.has(t.ID) || !(ran(t) || t.ID === k.taskId)) continue;
        k.ended.add(t.ID);
        await this.#takeOut(s, i.id, k);
        const exit = exitOf(t);
        this.#emit(s.ref, "instance:exited", { instance: i.id, code: exit.code, signal: exit.signal, oom: exit.oom });
      }
      if (k.taskId !== i.taskId) {
        // The slot has a new task (a restart, or a reschedule off a node that went down, whose
        // old task may never report its end): the old task's endpoint is not this instance's.
        await this.#takeOut(s, i.id, k);
        k.taskId = i.taskId;
        this.#emit(s.ref, "instance:restarting", { instance: i.id, attempt: i.restarts, delayMs: this.#o.restartDelayMs });
      }
      if (i.state === "exited" && !k.failedReported) {
        k.failedReported = true;
        await this.#takeOut(s, i.id, k);
        this.#emit(s.ref, "instance:failed", { instance: i.id, reason: s.spec.restart.policy === "never" ? "exited; restart policy is never" : "exited; no restarts left" });
      }
      if (i.state === "healthy" && k.gated !== i.taskId) {
        k.gated = i.taskId;
        gates.push(this.#gate(s, i, k));
      }
    }
    // New instances are in rotation before the ones Swarm is stopping leave it. Swarm stops each
    // old task as soon as the new one of its slot is healthy; the old one keeps serving through
    // its drain window, so it stays in rotation until the whole new generation is in (or half
    // of that window has passed).
    await Promise.all(gates);
    const incoming = [...s.view.values()].some((i) => i.generation === s.generation && i.state !== "exited" && !s.known.get(i.id)?.inRotation && s.known.get(i.id)?.gateFailed !== i.taskId);
    for (const [id, k] of s.known) {
      if (s.view.has(id)) continue;
      if (k.inRotation && incoming && s.rollout) {
        k.leavingSince ??= Date.now();
        if (Date.now() - k.leavingSince < this.#o.drainMs / 2) continue;
      }
      await this.#takeOut(s, id, k);
      s.known.delete(id);
      this.#emit(s.ref, "instance:stopped", { instance: id });
    }
  }

  async #gate(s: TrackedService, i: SwarmInstance, k: Known): Promise<void> {
    const rollout = s.rollout;
    let result: HealthResult = { ok: true, detail: "healthy (Swarm health check)" };
    if (rollout) {
      result = await rollout.health.wait({ id: i.id, ...(i.endpoint ? { endpoint: i.endpoint } : {}), alive: () => this.alive(s, i.id, i.taskId) }, s.spec.health, new AbortController().signal);
    }
    if (!result.ok) {
      k.gateFailed = i.taskId;
      this.#emit(s.ref, "instance:unhealthy", { instance: i.id, reason: result.detail });
      return;
    }
    if (s.spec.listens && i.endpoint && rollout && !s.gone) {
      await rollout.traffic.add(s.ref, i.id, i.endpoint);
      k.inRotation = i.endpoint;
    }
    this.#emit(s.ref, "instance:healthy", { instance: i.id });
  }

  async #takeOut(s: TrackedService, id: string, k: Known): Promise<void> {
    if (!k.inRotation) return;
    k.inRotation = undefined;
    if (s.rollout) await s.rollout.traffic.remove(s.ref, id, { drainMs: s.spec.shutdownDelayMs });
  }

  /** Whether every instance of `generation` in the view passed its gate (and is in rotation when it listens). */
  settled(s: TrackedService, generation: string, replicas: number): boolean {
    const current = [...s.view.values()].filter((i) => i.generation === generation);
    if (current.length !== replicas || s.view.size !== replicas || s.known.size !== replicas) return false;
    return current.every((i) => {
      const k = s.known.get(i.id);
      return i.state === "healthy" && k?.gated === i.taskId && k.gateFailed !== i.taskId && (!s.spec.listens || !s.rollout || k.inRotation !== undefined);
    });
  }

  /** The first instance of `generation` whose gate failed, if any. */
  gateFailure(s: TrackedService, generation: string): string | undefined {
    for (const i of s.view.values()) if (i.generation === generation && s.known.get(i.id)?.gateFailed === i.taskId) return i.id;
    return undefined;
  }

  #emit<T extends EventType>(ref: ServiceRef, type: T, data: EventMap[T]): void {
    this.#o.events.emit({ type, scope: { project: ref.project, environment: ref.environment, service: ref.service }, actor: "system", data });
  }
}
