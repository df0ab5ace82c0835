/**
 * The in-memory engine: a faithful fake of the Engine seam for pipeline, reconcile and cron tests.
 * It runs the same rollout algorithm (`rollout/rollout.ts`) and restart policy
 * (`rollout/restart-policy.ts`) as the local engine, honours the HealthGate and TrafficPort it is
 * given, and exposes test hooks to crash instances, fail their health, write log lines and decide
 * what tasks and starts do. Nothing runs: instances are records, tasks run a pluggable behaviour.
 *
 * Differences from `local`, on purpose: restarts happen at once (the backoff delay is reported in
 * `instance:restarting` but not waited), and a crash-looping instance stays `crash-looping` until
 * the next apply replaces it.
 */
import type { Clock } from "../../core/clock.ts";
import { systemClock } from "../../core/clock.ts";
import { BerthError } from "../../core/errors.ts";
import type { EventSink, EventType, EventMap } from "../../core/events.ts";
import { newId } from "../../core/ids.ts";
import type {
  ActualService, Endpoint, Engine, EngineDeps, EnvironmentRef, InstanceState, InstanceStats, LogLine, LogSelector,
  Release, Rollout, RolloutEvent, ServiceRef, ServiceSpec, TaskResult, TaskSpec,
} from "../engine.ts";
import { noTraffic, serviceKey } from "../engine.ts";
import type { EnvironmentNetwork } from "../network.ts";
import { decideRestart, freshHistory, type RestartHistory } from "../rollout/restart-policy.ts";
import { type RolloutDriver, type RolloutInstance, runRollout } from "../rollout/rollout.ts";
import { MemoryLogs } from "./memory-logs.ts";

/** What a fake task does: gets the opened env and a logger, returns how it ended. */
export type TaskBehaviour = (
  spec: TaskSpec,
  ctx: { readonly env: Readonly<Record<string, string>>; readonly log: (line: string, stream?: "stdout" | "stderr") => void; readonly signal: AbortSignal },
) => Promise<{ readonly exitCode: number | null; readonly signal?: string | null; readonly oom?: boolean }>;

/** What a fake instance does when started: `run` stays up; `crash` exits at once (its gate fails). */
export type StartBehaviour = (
  spec: ServiceSpec,
  release: Release,
  env: Readonly<Record<string, string>>,
  log: (line: string, stream?: "stdout" | "stderr") => void,
) => "run" | "crash";

export interface MemoryEngineOptions extends EngineDeps {
  readonly clock?: Clock;
  readonly task?: TaskBehaviour;
  readonly startBehaviour?: StartBehaviour;
  /** First fake port handed to listening instances. */
  readonly firstPort?: number;
}

interface MemInstance {
  readonly id: string;
  readonly ref: ServiceRef;
  release: Release;
  state: InstanceState;
  endpoint?: Endpoint;
  pid: number;
  restarts: number;
  startedAtMs: number;
  /** Incremented on every exit so a gate holding the old run sees it die. */
  run: number;
  supervised: boolean;
  history: RestartHistory;
  lastExit?: { code: number | null; signal: string | null; oom: boolean; at: string };
}

interface MemService {
  spec: ServiceSpec;
  release: Release;
  rollout: Rollout;
}

/** A record of a task the engine ran, for assertions. */
export interface MemoryTaskRecord {
  readonly spec: TaskSpec;
  readonly env: Readonly<Record<string, string>>;
  readonly result: TaskResult;
}

export class MemoryEngine implements Engine {
  readonly name = "memory";
  readonly #events: EventSink;
  readonly #openEnv: EngineDeps["openEnv"];
  readonly #redact: (text: string) => string;
  readonly #clock: Clock;
  readonly #task: TaskBehaviour;
  readonly #startBehaviour: StartBehaviour;
  readonly #services = new Map<string, MemService>();
  readonly #instances = new Map<string, Map<string, MemInstance>>();
  readonly #logs = new MemoryLogs();
  readonly #tasks: MemoryTaskRecord[] = [];
  #nextPort: number;
  #nextPid = 1000;
  #running = false;

  constructor(options: MemoryEngineOptions) {
    this.#events = options.events;
    this.#openEnv = options.openEnv;
    this.#redact = options.redact ?? ((text) => text);
    this.#clock = options.clock ?? systemClock;
    this.#task = options.task ?? (async () => ({ exitCode: 0 }));
    this.#startBehaviour = options.startBehaviour ?? (() => "run");
    this.#nextPort = options.firstPort ?? 20_000;
  }

  async start(): Promise<void> {
    // Instances survive stop({ stopInstances: false }) like detached processes do; "adopt" them.
    if (!this.#running) for (const inst of this.#all()) if (inst.state !== "exited") this.#emit(inst.ref, "instance:adopted", { instance: inst.id, pid: inst.pid });
    this.#running = true;
  }

  async stop(options: { readonly stopInstances: boolean }): Promise<void> {
    if (options.stopInstances) for (const inst of this.#all()) await this.#stopInstance(inst.ref, inst.id);
    this.#running = false;
  }

  /** The private networks handed in, by `project/environment` (tests read them). */
  readonly networks = new Map<string, EnvironmentNetwork>();

  async setNetwork(network: EnvironmentNetwork): Promise<void> {
    this.networks.set(`${network.env.project}/${network.env.environment}`, network);
  }

  apply(spec: ServiceSpec, release: Release, rollout: Rollout, signal: AbortSignal): AsyncIterable<RolloutEvent> {
    this.#assertRunning();
    return runRollout(this.#driver(), spec, release, rollout, signal, this.#clock);
  }

  async runTask(spec: TaskSpec, signal: AbortSignal): Promise<TaskResult> {
    this.#assertRunning();
    const t0 = this.#clock.now();
    const env = { ...(await this.#openEnv(spec.release)), ...spec.extraEnv };
    this.#emit(spec.service.ref, "task:started", { task: spec.id, kind: spec.kind });
    const ctl = new AbortController();
    const onAbort = (): void => ctl.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ctl.abort();
    }, spec.timeoutMs);
    const log = (text: string, stream: "stdout" | "stderr" = "stdout"): void => {
      const line: LogLine = { at: new Date(this.#clock.now()).toISOString(), instance: spec.id, stream, line: this.#redact(text) };
      this.#logs.append(serviceKey(spec.service.ref), line);
      spec.onLog?.(line);
    };
    let result: TaskResult;
    try {
      const aborted = new Promise<never>((_, reject) => ctl.signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true }));
      const out = await Promise.race([this.#task(spec, { env, log, signal: ctl.signal }), aborted]);
      result = { exitCode: out.exitCode, signal: out.signal ?? null, timedOut: false, oom: out.oom ?? false, durationMs: this.#clock.now() - t0 };
    } catch {
      result = { exitCode: null, signal: "SIGKILL", timedOut, oom: false, durationMs: this.#clock.now() - t0 };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    }
    this.#tasks.push({ spec, env, result });
    this.#emit(spec.service.ref, "task:finished", { task: spec.id, kind: spec.kind, exitCode: result.exitCode, ms: result.durationMs });
    return result;
  }

  async actual(env: EnvironmentRef): Promise<readonly ActualService[]> {
    const out: ActualService[] = [];
    for (const [key, svc] of this.#services) {
      const ref = svc.spec.ref;
      if (ref.project !== env.project || ref.environment !== env.environment) continue;
      const instances = [...(this.#instances.get(key)?.values() ?? [])].map((i) => ({
        id: i.id,
        releaseId: i.release.id,
        releaseNumber: i.release.number,
        state: i.state,
        pid: i.pid,
        ...(i.endpoint ? { endpoint: i.endpoint } : {}),
        restarts: i.restarts,
        startedAt: new Date(i.startedAtMs).toISOString(),
        ...(i.lastExit ? { lastExit: { ...i.lastExit } } : {}),
      }));
      out.push({ ref, spec: svc.spec, releaseId: svc.release.id, instances });
    }
    return out;
  }

  logs(selector: LogSelector): AsyncIterable<LogLine> {
    return this.#logs.read(selector);
  }

  async stats(service: ServiceRef, instanceId: string): Promise<InstanceStats | undefined> {
    const inst = this.#instances.get(serviceKey(service))?.get(instanceId);
    if (!inst || inst.state === "exited") return undefined;
    return { cpuPercent: 0, rssBytes: 32 * 1024 * 1024, uptimeMs: this.#clock.now() - inst.startedAtMs };
  }

  async remove(service: ServiceRef, _signal: AbortSignal): Promise<void> {
    const key = serviceKey(service);
    const svc = this.#services.get(key);
    for (const inst of [...(this.#instances.get(key)?.values() ?? [])]) {
      if (svc?.spec.listens) await svc.rollout.traffic.remove(service, inst.id, { drainMs: svc.spec.shutdownDelayMs });
      await this.#stopInstance(service, inst.id);
    }
    this.#services.delete(key);
    this.#instances.delete(key);
  }

  // ---- test hooks -------------------------------------------------------------------------

  /**
   * Makes an instance exit as if its process died (default: killed by SIGKILL). The restart
   * policy then applies exactly as on `local`; resolves once the instance is back in rotation,
   * or has stopped for good.
   */
  async crash(service: ServiceRef, instanceId: string, exit: { code?: number | null; signal?: string | null; oom?: boolean } = {}): Promise<void> {
    const inst = this.#get(service, instanceId);
    const code = exit.code === undefined ? null : exit.code;
    const sig = exit.signal === undefined ? (code === null ? "SIGKILL" : null) : exit.signal;
    await this.#exited(inst, code, sig, exit.oom ?? false);
  }

  /** Makes an instance fail its continued health checks: out of rotation, then restarted. */
  async failHealth(service: ServiceRef, instanceId: string, reason = "health check failed"): Promise<void> {
    const inst = this.#get(service, instanceId);
    inst.state = "unhealthy";
    this.#emit(service, "instance:unhealthy", { instance: inst.id, reason });
    await this.#exited(inst, null, "SIGTERM", false);
  }

  /** Appends an output line as if the instance printed it. */
  writeLog(service: ServiceRef, instanceId: string, line: string, stream: "stdout" | "stderr" = "stdout"): void {
    this.#logs.append(serviceKey(service), { at: new Date(this.#clock.now()).toISOString(), instance: instanceId, stream, line: this.#redact(line) });
  }

  /** Every task run so far, oldest first. */
  tasks(): readonly MemoryTaskRecord[] {
    return [...this.#tasks];
  }

  // ---- internals --------------------------------------------------------------------------

  #assertRunning(): void {
    if (!this.#running) throw new BerthError("BERTH_ENGINE_STOPPED", { engine: this.name });
  }

  #all(): MemInstance[] {
    return [...this.#instances.values()].flatMap((m) => [...m.values()]);
  }

  #get(service: ServiceRef, instanceId: string): MemInstance {
    const inst = this.#instances.get(serviceKey(service))?.get(instanceId);
    if (!inst) throw new BerthError("BERTH_NOT_FOUND", { kind: "instance", name: `${serviceKey(service)}/${instanceId}` });
    return inst;
  }

  #emit<T extends EventType>(ref: ServiceRef, type: T, data: EventMap[T]): void {
    this.#events.emit({ type, scope: { project: ref.project, environment: ref.environment, service: ref.service }, actor: "system", data });
  }

  /** Brings an instance up on its (possibly new) release; returns whether the start "worked". */
  async #run(inst: MemInstance, spec: ServiceSpec): Promise<void> {
    const env = await this.#openEnv(inst.release);
    inst.run++;
    inst.pid = this.#nextPid++;
    inst.startedAtMs = this.#clock.now();
    inst.state = "starting";
    delete inst.lastExit;
    this.#emit(inst.ref, "instance:started", { instance: inst.id, release: inst.release.number, pid: inst.pid, ...(inst.endpoint ? { port: inst.endpoint.port } : {}) });
    const env2 = { ...env, ...(inst.endpoint ? { PORT: String(inst.endpoint.port) } : {}) };
    const log = (line: string, stream: "stdout" | "stderr" = "stdout"): void => this.writeLog(inst.ref, inst.id, line, stream);
    if (this.#startBehaviour(spec, inst.release, env2, log) === "crash") {
      inst.state = "exited";
      inst.run++;
      inst.lastExit = { code: 1, signal: null, oom: false, at: new Date(this.#clock.now()).toISOString() };
      this.#emit(inst.ref, "instance:exited", { instance: inst.id, code: 1, signal: null, oom: false });
    }
  }

  /** Handles an unexpected exit: out of rotation, then the restart policy. */
  async #exited(inst: MemInstance, code: number | null, signal: string | null, oom: boolean): Promise<void> {
    const svc = this.#services.get(serviceKey(inst.ref));
    const spec = svc?.spec;
    const now = this.#clock.now();
    inst.run++;
    inst.state = "exited";
    inst.lastExit = { code, signal, oom, at: new Date(now).toISOString() };
    this.#emit(inst.ref, "instance:exited", { instance: inst.id, code, signal, oom });
    if (oom && spec?.limits.memoryBytes) this.#emit(inst.ref, "instance:oom", { instance: inst.id, limitBytes: spec.limits.memoryBytes });
    if (!svc || !spec || !inst.supervised) return;
    if (spec.listens) await svc.rollout.traffic.remove(inst.ref, inst.id, { drainMs: 0 });
    const decision = decideRestart(spec.restart, { code, signal, startedAtMs: inst.startedAtMs, exitedAtMs: now }, inst.history);
    inst.history = decision.history;
    if (!decision.restart) {
      this.#emit(inst.ref, "instance:failed", { instance: inst.id, reason: decision.reason ?? "not restarted" });
      return;
    }
    inst.restarts++;
    this.#emit(inst.ref, "instance:restarting", { instance: inst.id, attempt: decision.attempt, delayMs: decision.delayMs });
    if (decision.crashLooping) {
      inst.state = "crash-looping";
      this.#emit(inst.ref, "instance:crash-looping", { instance: inst.id, failures: decision.failures, windowMs: 600_000 });
      return;
    }
    await this.#run(inst, spec);
    const run = inst.run;
    const gate = await svc.rollout.health.wait({ id: inst.id, endpoint: inst.endpoint, alive: () => inst.run === run && inst.state !== "exited" }, spec.health, new AbortController().signal);
    if (!gate.ok || inst.run !== run) {
      if (inst.state !== "exited") await this.#exited(inst, null, "SIGTERM", false);
      return;
    }
    inst.state = "healthy";
    this.#emit(inst.ref, "instance:healthy", { instance: inst.id });
    if (spec.listens && inst.endpoint) await svc.rollout.traffic.add(inst.ref, inst.id, inst.endpoint);
  }

  async #stopInstance(ref: ServiceRef, instanceId: string): Promise<void> {
    const map = this.#instances.get(serviceKey(ref));
    const inst = map?.get(instanceId);
    if (!inst) return;
    const wasRunning = inst.state !== "exited";
    inst.state = "draining";
    inst.run++;
    map!.delete(instanceId);
    if (wasRunning) this.#emit(ref, "instance:stopped", { instance: inst.id });
  }

  #driver(): RolloutDriver {
    const view = (inst: MemInstance): RolloutInstance => {
      const run = inst.run;
      return {
        id: inst.id,
        releaseId: inst.release.id,
        ...(inst.endpoint ? { endpoint: inst.endpoint } : {}),
        alive: () => inst.run === run && inst.state !== "exited" && inst.state !== "draining",
      };
    };
    return {
      current: (ref) => {
        const svc = this.#services.get(serviceKey(ref));
        if (!svc) return undefined;
        return { spec: svc.spec, release: svc.release, instances: [...(this.#instances.get(serviceKey(ref))?.values() ?? [])].map(view) };
      },
      startInstance: async (spec, release) => {
        if (release.artifact.kind !== "dir" && release.artifact.kind !== "image") {
          throw new BerthError("BERTH_ENGINE_ARTIFACT_UNSUPPORTED", { engine: this.name, kind: String(release.artifact), release: release.number });
        }
        const key = serviceKey(spec.ref);
        const map = this.#instances.get(key) ?? new Map<string, MemInstance>();
        this.#instances.set(key, map);
        const inst: MemInstance = {
          id: newId("in"),
          ref: spec.ref,
          release,
          state: "starting",
          pid: 0,
          restarts: 0,
          startedAtMs: this.#clock.now(),
          run: 0,
          supervised: false,
          history: freshHistory,
          ...(spec.listens ? { endpoint: { host: "127.0.0.1", port: this.#nextPort++ } } : {}),
        };
        map.set(inst.id, inst);
        try {
          await this.#run(inst, spec);
        } catch (e) {
          map.delete(inst.id);
          throw e;
        }
        return view(inst);
      },
      markHealthy: (ref, id) => {
        const inst = this.#instances.get(serviceKey(ref))?.get(id);
        if (!inst) return;
        inst.supervised = true;
        inst.state = "healthy";
        this.#emit(ref, "instance:healthy", { instance: id });
      },
      stopInstance: (ref, id) => this.#stopInstance(ref, id),
      settle: (spec, release, rollout) => {
        this.#services.set(serviceKey(spec.ref), { spec, release, rollout });
      },
    };
  }
}

/** A traffic port that records what it was told, for tests (the real one is the router). */
export class RecordingTraffic {
  readonly inRotation = new Map<string, Endpoint>();
  readonly calls: string[] = [];
  readonly port = {
    add: async (service: ServiceRef, instanceId: string, endpoint: Endpoint): Promise<void> => {
      this.calls.push(`add ${serviceKey(service)} ${instanceId}`);
      this.inRotation.set(instanceId, endpoint);
    },
    remove: async (service: ServiceRef, instanceId: string): Promise<void> => {
      this.calls.push(`remove ${serviceKey(service)} ${instanceId}`);
      this.inRotation.delete(instanceId);
    },
  };
}

export { noTraffic };
