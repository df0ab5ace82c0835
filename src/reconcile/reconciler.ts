/**
 * The level-based reconcile loop. Entry points record desired state and call `request(envId)`;
 * this worker takes due environments from the persistent queue, reads desired state from the
 * store and actual state from the engine, plans purely, and executes the plan's steps. Every
 * step is idempotent, so after a crash the daemon simply reconciles everything again.
 */
import type { Clock } from "../core/clock.ts";
import { toBerthError } from "../core/errors.ts";
import type { EventSink } from "../core/events.ts";
import type { Engine } from "../engine/engine.ts";
import type { DeployPipeline } from "../deploy/pipeline.ts";
import type { EnvironmentRow } from "../store/repositories/environments.ts";
import type { Store } from "../store/store.ts";
import { type DesiredService, type PlanStep, plan } from "./plan.ts";

export interface ReconcilerDeps {
  readonly store: Store;
  readonly engine: Engine;
  readonly pipeline: DeployPipeline;
  readonly events: EventSink;
  readonly clock: Clock;
  readonly retryMs: number;
  readonly retryMaxMs: number;
  /** Every environment is re-enqueued this often, to catch drift nobody reported. */
  readonly resyncIntervalMs: number;
  /** Pushes the route table to the router before rollouts (new services need their backend). */
  readonly routing?: { refresh(options?: { prune: boolean }): Promise<void> };
  /** Managed databases and key-value stores, provisioned before releases are cut. */
  readonly resources?: {
    ensure(env: EnvironmentRow, signal?: AbortSignal): Promise<void>;
    stopEnvironment(env: EnvironmentRow): Promise<void>;
  };
}

/** At most this many plan/execute passes per reconcile (a release step needs a second pass). */
const MAX_PASSES = 4;

export class Reconciler {
  readonly #d: ReconcilerDeps;
  #abort = new AbortController();
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #lastResync = 0;
  #idle = true;
  readonly #idleWaiters = new Set<() => void>();

  constructor(deps: ReconcilerDeps) {
    this.#d = deps;
  }

  #now(): string {
    return new Date(this.#d.clock.now()).toISOString();
  }

  /** Recovers from whatever a previous daemon left (running deploys), enqueues all, starts the loop. */
  start(): void {
    const { store } = this.#d;
    store.deploys.abandonRunning(this.#now());
    for (const env of store.environments.list()) store.queue.enqueue(env.id, this.#now());
    this.#lastResync = this.#d.clock.now();
    this.#abort = new AbortController();
    this.#loop = this.#run(this.#abort.signal);
  }

  async stop(): Promise<void> {
    this.#abort.abort(new Error("reconciler stopping"));
    this.#wake?.();
    await this.#loop;
    this.#loop = undefined;
  }

  /** Records that an environment needs reconciling (persisted) and wakes the worker. */
  request(environmentId: string): void {
    this.#d.store.queue.enqueue(environmentId, this.#now());
    this.#idle = false;
    this.#wake?.();
  }

  /** Resolves when the queue is empty and nothing is running (tests, `up --detach`). */
  whenIdle(): Promise<void> {
    if (this.#idle && this.#d.store.queue.due(Number.MAX_SAFE_INTEGER).length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.add(resolve));
  }

  async #run(signal: AbortSignal): Promise<void> {
    const { store, clock } = this.#d;
    while (!signal.aborted) {
      if (clock.now() - this.#lastResync >= this.#d.resyncIntervalMs) {
        this.#lastResync = clock.now();
        for (const env of store.environments.list()) store.queue.enqueue(env.id, this.#now());
      }
      const due = store.queue.due(clock.now());
      for (const entry of due) {
        if (signal.aborted) break;
        const takenAt = this.#now();
        try {
          await this.reconcile(entry.environmentId, signal);
          store.queue.done(entry.environmentId, takenAt);
        } catch (e) {
          if (signal.aborted) break;
          const attempts = entry.attempts + 1;
          const delay = Math.min(this.#d.retryMs * 2 ** (attempts - 1), this.#d.retryMaxMs);
          store.queue.retryLater(entry.environmentId, attempts, clock.now() + delay);
          const env = store.environments.byId(entry.environmentId);
          const err = toBerthError(e);
          this.#d.events.emit({
            type: "reconcile:failed",
            scope: env ? { project: env.project, environment: env.name } : {},
            data: { environment: env?.name ?? entry.environmentId, step: "reconcile", reason: err.message, retryInMs: delay },
          });
          if (env) store.environments.setStatus(env.id, "failed", err.message, this.#now());
        }
      }
      if (signal.aborted) break;
      const pending = store.queue.due(Number.MAX_SAFE_INTEGER).length;
      const dueNow = store.queue.due(clock.now()).length;
      if (dueNow > 0) continue;
      if (pending === 0) {
        this.#idle = true;
        for (const w of this.#idleWaiters) w();
        this.#idleWaiters.clear();
      }
      const next = store.queue.nextDueAt();
      const untilResync = this.#d.resyncIntervalMs - (clock.now() - this.#lastResync);
      const waitMs = Math.max(10, Math.min(next === undefined ? untilResync : next - clock.now(), untilResync));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  #desired(env: EnvironmentRow): DesiredService[] {
    const { store } = this.#d;
    return store.services.list(env.id).map((s) => {
      const release = s.desiredReleaseId ? store.releases.byId(s.desiredReleaseId) : undefined;
      const releaseDigest = release ? (release.config as { inputsDigest?: string }).inputsDigest : undefined;
      return {
        serviceId: s.id,
        spec: s.spec,
        inputsDigest: s.inputsDigest,
        release: release ? { id: release.id, inputsDigest: releaseDigest ?? "" } : undefined,
        failedDigest: s.failedDigest,
      };
    });
  }

  /** One level-based reconcile of an environment. Throws on errors worth retrying. */
  async reconcile(environmentId: string, signal: AbortSignal): Promise<void> {
    const { store, engine, events, clock } = this.#d;
    const env = store.environments.byId(environmentId);
    if (!env) return; // removed since it was enqueued
    const scope = { project: env.project, environment: env.name };
    const started = clock.now();
    let steps = 0;
    events.emit({ type: "reconcile:started", scope, data: { environment: env.name, generation: env.generation } });
    const stopped = env.status === "stopping" || env.status === "stopped";
    if (!stopped) store.environments.setStatus(env.id, "reconciling", null, this.#now());
    if (!stopped && store.services.list(env.id).length > 0) await this.#d.resources?.ensure(env, signal);
    // New services get their backend before rollouts; removed ones keep theirs until drained.
    await this.#d.routing?.refresh({ prune: false });
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const actual = await engine.actual({ project: env.project, environment: env.name });
      const todo = plan(this.#desired(env), actual);
      if (todo.length === 0) break;
      for (const step of todo) {
        if (signal.aborted) return;
        const t0 = clock.now();
        await this.#execute(env, step, actual.find((a) => a.ref.service === step.service)?.releaseId, signal);
        steps++;
        events.emit({ type: "reconcile:step", scope, data: { environment: env.name, step: step.kind, target: step.service, ms: clock.now() - t0 } });
      }
      // A failed step marks its inputs failed, so the next pass skips it while the other
      // services (e.g. a release cut in this pass) still converge now rather than at the resync.
    }
    const settled = await engine.actual({ project: env.project, environment: env.name });
    for (const s of store.services.list(env.id)) {
      const a = settled.find((x) => x.ref.service === s.name);
      store.instances.snapshot(s.id, a?.instances ?? [], this.#now());
    }
    if (stopped) {
      await this.#d.resources?.stopEnvironment(env);
      store.environments.setStatus(env.id, "stopped", "stopped by request", this.#now(), env.generation);
      await this.#d.routing?.refresh({ prune: true });
      events.emit({ type: "reconcile:done", scope, data: { environment: env.name, generation: env.generation, steps, ms: clock.now() - started } });
      return;
    }
    await this.#d.routing?.refresh({ prune: true });
    const failed = store.services.list(env.id).filter((s) => s.failedDigest !== null);
    const status = failed.length === 0 ? "live" : "degraded";
    const detail = failed.length === 0 ? null : `failed: ${failed.map((s) => s.name).join(", ")}`;
    store.environments.setStatus(env.id, status, detail, this.#now(), env.generation);
    events.emit({ type: "reconcile:done", scope, data: { environment: env.name, generation: env.generation, steps, ms: clock.now() - started } });
  }

  async #execute(env: EnvironmentRow, step: PlanStep, actualReleaseId: string | undefined, signal: AbortSignal): Promise<boolean> {
    const { store, engine, pipeline } = this.#d;
    switch (step.kind) {
      case "release": {
        const service = store.services.byId(step.serviceId);
        if (!service) return true;
        return (await pipeline.cutRelease(env, service, "system", signal)) !== undefined;
      }
      case "apply": {
        const service = store.services.byId(step.serviceId);
        const release = store.releases.byId(step.releaseId);
        if (!service || !release) return true;
        return pipeline.rollout(env, service, release, actualReleaseId, "system", signal);
      }
      case "remove":
        await engine.remove(step.ref, signal);
        return true;
    }
  }
}
