/**
 * One Engine made of several (issue 20): each environment runs on the engine its blueprint names
 * (`engine: local | swarm`), and everything above the seam — reconciler, deploy pipeline, cron,
 * observability, the API — keeps talking to one `Engine`. The choice is read per call from the
 * environment's recorded blueprint, so a sync that changes it takes effect at the next reconcile.
 * Engines other than the default start on first use (the Swarm engine needs dockerd and starts
 * Berth's registry), and an engine that cannot start fails the call with the reason.
 */
import type {
  ActualService, Engine, EnvironmentNetwork, EnvironmentRef, InstanceStats, LogLine, LogSelector, Release, Rollout, RolloutEvent, ServiceRef, ServiceSpec, TaskResult, TaskSpec,
} from "./engine.ts";

/** An engine started on first use; `get()` retries after a failed start. */
export interface LazyEngine {
  get(): Promise<Engine>;
  /** The engine if it started, without starting it. */
  current(): Engine | undefined;
  stop(options: { readonly stopInstances: boolean }): Promise<void>;
}

export interface PerEnvironmentOptions {
  /** The engine of environments that name none (or `local`). */
  readonly local: Engine;
  /** Other engines by the name a blueprint uses (`swarm`). */
  readonly others: Readonly<Record<string, LazyEngine>>;
  /** The engine an environment's recorded blueprint names (`local` when none). */
  readonly kindOf: (env: EnvironmentRef) => string;
  /** Called when the engine a blueprint names is not configured on this daemon. */
  readonly missing: (kind: string, env: EnvironmentRef) => Error;
}

export class PerEnvironmentEngine implements Engine {
  readonly name: string;
  readonly #o: PerEnvironmentOptions;

  constructor(options: PerEnvironmentOptions) {
    this.#o = options;
    this.name = [options.local.name, ...Object.keys(options.others)].join("+");
  }

  /** The engine that runs `env`, started if it was not. */
  async engineFor(env: EnvironmentRef): Promise<Engine> {
    const kind = this.#o.kindOf(env);
    if (kind === "local" || kind === this.#o.local.name) return this.#o.local;
    const other = this.#o.others[kind];
    if (!other) throw this.#o.missing(kind, env);
    return other.get();
  }

  async start(): Promise<void> {
    await this.#o.local.start();
  }

  async stop(options: { readonly stopInstances: boolean }): Promise<void> {
    for (const other of Object.values(this.#o.others)) await other.stop(options);
    await this.#o.local.stop(options);
  }

  apply(spec: ServiceSpec, release: Release, rollout: Rollout, signal: AbortSignal): AsyncIterable<RolloutEvent> {
    const pick = (): Promise<Engine> => this.engineFor(spec.ref);
    return (async function* () {
      let engine: Engine;
      try {
        engine = await pick();
      } catch (e) {
        yield { step: "failed", failedStep: "start", detail: e instanceof Error ? e.message : String(e), ms: 0 } satisfies RolloutEvent;
        return;
      }
      yield* engine.apply(spec, release, rollout, signal);
    })();
  }

  async runTask(spec: TaskSpec, signal: AbortSignal): Promise<TaskResult> {
    return (await this.engineFor(spec.service.ref)).runTask(spec, signal);
  }

  async actual(env: EnvironmentRef): Promise<readonly ActualService[]> {
    return (await this.engineFor(env)).actual(env);
  }

  logs(selector: LogSelector): AsyncIterable<LogLine> {
    const pick = (): Promise<Engine> => this.engineFor(selector.service);
    return (async function* () {
      yield* (await pick()).logs(selector);
    })();
  }

  async stats(service: ServiceRef, instanceId: string): Promise<InstanceStats | undefined> {
    return (await this.engineFor(service)).stats(service, instanceId);
  }

  async remove(service: ServiceRef, signal: AbortSignal): Promise<void> {
    return (await this.engineFor(service)).remove(service, signal);
  }

  async setNetwork(network: EnvironmentNetwork): Promise<void> {
    return (await this.engineFor(network.env)).setNetwork(network);
  }
}
