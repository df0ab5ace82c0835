/**
 * The level-based reconcile loop. Entry points record desired state and call `request(envId)`;
 * this worker takes due environments from the persistent queue, reads desired state from the
 * store and actual state from the engine, plans purely, and executes the plan's steps. Every
 * step is idempotent, so after a crash the daemon simply reconciles everything again.
 */
import type { Clock } from "../core/clock.ts";
import { toBerthError } from "../core/errors.ts";
import type { EventSink } from "../core/events.ts";
import type { ActualService, Engine, ServiceSpec } from "../engine/engine.ts";
import type { DeployPipeline, ReleaseConfig } from "../deploy/pipeline.ts";
import type { EnvironmentRow } from "../store/repositories/environments.ts";
import type { Store } from "../store/store.ts";
import { yieldToLoop } from "../core/concurrency.ts";
import { environmentHealth } from "./env-health.ts";
import { executePlan } from "./execute.ts";
import { type DesiredService, type PlanStep, plan } from "./plan.ts";

export interface ReconcilerDeps {
  readonly store: Store;
  readonly engine: Engine;
  readonly pipeline: DeployPipeline;
  readonly events: EventSink;
  readonly clock: Clock;
  readonly retryMs: number;
  readonly retryMaxMs: number;
  /** Applies and removals of one pass in flight at once (issue 15: default 4). */
  readonly concurrency?: number;
  /** Every environment is re-enqueued this often, to catch drift nobody reported. */
  readonly resyncIntervalMs: number;
  /** Pushes the route table to the router before rollouts (new services need their backend). */
  readonly routing?: {
    refresh(options?: { prune: boolean }): Promise<void>;
    /** Puts exactly the healthy instances of each routed service in rotation (level-based). */
    converge?(actual: readonly ActualService[]): Promise<void>;
  };
  /** Managed databases and key-value stores, provisioned before releases are cut. */
  readonly resources?: {
    ensure(env: EnvironmentRow, signal?: AbortSignal): Promise<void>;
    stopEnvironment(env: EnvironmentRow): Promise<void>;
  };
}

/** At most this many plan/execute passes per reconcile (a release step needs a second pass). */
const MAX_PASSES = 4;
/** Services whose releases are cut (and envs sealed) together. */
const RELEASE_BATCH = 100;

export class Reconciler {
  readonly #d: ReconcilerDeps;
  #abort = new AbortController();
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #lastResync = 0;
  #idle = true;
  /** Environments being reconciled now (status refreshes leave them alone). */
  readonly #reconciling = new Set<string>();
  readonly #statusTimers = new Map<string, NodeJS.Timeout>();
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
    for (const t of this.#statusTimers.values()) clearTimeout(t);
    this.#statusTimers.clear();
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

  /**
   * An engine reported an instance change (crash-looping, healthy again, exited): re-state that
   * environment's status shortly, coalescing bursts. Instances change between reconciles, and
   * `status` must not keep saying `live` while a service crash-loops.
   */
  instanceChanged(scope: { readonly project?: string; readonly environment?: string }): void {
    if (!scope.project || !scope.environment || this.#abort.signal.aborted) return;
    const id = this.#d.store.environments.idByName(scope.project, scope.environment);
    if (!id || this.#statusTimers.has(id) || this.#reconciling.has(id)) return;
    const timer = setTimeout(() => {
      this.#statusTimers.delete(id);
      void this.refreshStatus(id).catch(() => undefined); // the next reconcile states it anyway
    }, 200);
    timer.unref();
    this.#statusTimers.set(id, timer);
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

  #desired(env: EnvironmentRow, addressesOf: ((service: string) => string) | undefined): DesiredService[] {
    const { store } = this.#d;
    const releases = store.releases.desiredDigests(env.id);
    return store.services.listForPlan(env.id).map((s) => {
      const release = s.desiredReleaseId ? releases.get(s.id) : undefined;
      const spec = release && release.inputsDigest !== s.inputsDigest ? releaseSpec(store, release.id, s.spec) : s.spec;
      return {
        serviceId: s.id,
        // Issue 19: desired state "asleep" is the same release with no instances (a scale to 0).
        spec: isAsleep(s) ? asleepSpec(spec) : spec,
        inputsDigest: s.inputsDigest,
        release,
        failedDigest: s.failedDigest,
        ...(addressesOf ? { addressesDigest: addressesOf(s.name) } : {}),
      };
    });
  }

  /** The environment's status from what runs now (env-health.ts), with the instance snapshot. */
  async #health(env: EnvironmentRow, actual: readonly ActualService[]): Promise<{ status: "live" | "degraded"; detail: string | null }> {
    const { store } = this.#d;
    const services = store.services.listStates(env.id);
    const byName = new Map(actual.map((a) => [a.ref.service, a]));
    const inputs = services.map((s) => ({ name: s.name, kind: s.kind, replicas: s.asleep ? 0 : s.replicas, desiredReleaseId: s.desiredReleaseId, blocked: s.blocked }));
    await store.instances.snapshotAll(services.map((s) => [s.id, byName.get(s.name)?.instances ?? []]), this.#now(), yieldToLoop);
    return environmentHealth(inputs, actual);
  }

  /**
   * Re-reads what runs and re-states a settled environment's status (instances crash-looping,
   * recovering, exiting between reconciles). Skipped while the environment is being reconciled:
   * the reconcile states it when it ends.
   */
  async refreshStatus(environmentId: string): Promise<void> {
    const { store, engine } = this.#d;
    const env = store.environments.byId(environmentId);
    if (!env || this.#reconciling.has(env.id) || !["live", "degraded"].includes(env.status)) return;
    const actual = await engine.actual({ project: env.project, environment: env.name });
    const now = store.environments.byId(environmentId);
    if (!now || this.#reconciling.has(env.id) || now.status !== env.status) return;
    await this.#d.routing?.converge?.(actual).catch(() => undefined); // the next reconcile retries it
    const health = await this.#health(env, actual);
    if (health.status !== env.status || health.detail !== env.statusDetail) store.environments.setStatus(env.id, health.status, health.detail, this.#now());
  }

  /** One level-based reconcile of an environment. Throws on errors worth retrying. */
  async reconcile(environmentId: string, signal: AbortSignal): Promise<void> {
    const env = this.#d.store.environments.byId(environmentId);
    if (!env) return; // removed since it was enqueued
    this.#reconciling.add(env.id);
    try {
      await this.#reconcile(env, signal);
    } finally {
      this.#reconciling.delete(env.id);
      this.#d.store.environments.forgetLarge(env.id); // memory back to idle after a big reconcile
    }
  }

  async #reconcile(env: EnvironmentRow, signal: AbortSignal): Promise<void> {
    const { store, engine, events, clock } = this.#d;
    const scope = { project: env.project, environment: env.name };
    const started = clock.now();
    let steps = 0;
    events.emit({ type: "reconcile:started", scope, data: { environment: env.name, generation: env.generation } });
    const stopped = env.status === "stopping" || env.status === "stopped";
    if (!stopped) store.environments.setStatus(env.id, "reconciling", null, this.#now());
    if (!stopped && store.services.count(env.id) > 0) await this.#d.resources?.ensure(env, signal);
    // New services get their backend before rollouts; removed ones keep theirs until drained.
    await this.#d.routing?.refresh({ prune: false });
    let left: PlanStep[] = [];
    for (let pass = 0; pass <= MAX_PASSES; pass++) {
      const actual = await engine.actual({ project: env.project, environment: env.name });
      const hasServices = store.services.count(env.id) > 0;
      const addressesOf = stopped || !hasServices ? undefined : await this.#d.pipeline.addresses(store.environments.byId(env.id) ?? env);
      await yieldToLoop();
      const desired = this.#desired(env, addressesOf);
      await yieldToLoop();
      const todo = plan(desired, actual);
      await yieldToLoop();
      left = todo;
      if (todo.length === 0 || pass === MAX_PASSES || signal.aborted) break;
      const releaseOf = new Map(actual.map((a) => [a.ref.service, a.releaseId]));
      let lastProgress = 0;
      steps += await executePlan(
        todo,
        {
          // The pipeline reads the environment and services itself: a sync may have landed since.
          cutReleases: (ids) => this.#d.pipeline.cutReleases(env.id, ids, "system", signal),
          apply: async (step) => {
            const service = store.services.byId(step.serviceId);
            const release = store.releases.byId(step.releaseId);
            // Issue 19: an asleep service is rolled to its release with no instances.
            const runAs = service && isAsleep(service) ? { ...service, spec: asleepSpec(service.spec) } : service;
            if (runAs && release) await this.#d.pipeline.rollout(env, runAs, release, releaseOf.get(step.service), "system", signal);
          },
          remove: (step) => engine.remove(step.ref, signal),
        },
        {
          concurrency: this.#d.concurrency ?? 4,
          releaseBatch: RELEASE_BATCH,
          signal,
          now: () => clock.now(),
          onStep: (step, ms) => events.emit({ type: "reconcile:step", scope, data: { environment: env.name, step: step.kind, target: step.service, reason: step.reason, ms } }),
          // A large plan says where it is (status detail and an event), at most every 2 s.
          onProgress: (done, total) => {
            if (total < 50 || (done < total && clock.now() - lastProgress < 2000)) return;
            lastProgress = clock.now();
            store.environments.setStatus(env.id, "reconciling", `pass ${pass + 1}: ${done}/${total} steps`, this.#now());
            events.emit({ type: "reconcile:progress", scope, data: { environment: env.name, done, total } });
          },
        },
      );
      // A failed step marks its inputs failed, so the next pass skips it while the other
      // services (e.g. a release cut in this pass) still converge now rather than at the resync.
    }
    const settled = await engine.actual({ project: env.project, environment: env.name });
    if (stopped) {
      await store.instances.snapshotAll(store.services.list(env.id).map((s) => [s.id, settled.find((x) => x.ref.service === s.name)?.instances ?? []]), this.#now());
      await this.#d.resources?.stopEnvironment(env);
      store.environments.setStatus(env.id, "stopped", "stopped by request", this.#now(), env.generation);
      await this.#d.routing?.refresh({ prune: true });
      events.emit({ type: "reconcile:done", scope, data: { environment: env.name, generation: env.generation, steps, ms: clock.now() - started } });
      return;
    }
    await this.#d.routing?.refresh({ prune: true });
    await this.#d.routing?.converge?.(settled);
    // Level truth: the status says what runs, not what the passes attempted. Steps still left
    // after the last pass (a plan that does not converge) are named instead of claiming `live`.
    const health = await this.#health(env, settled);
    const unconverged = left.length > 0 ? `not converged after ${MAX_PASSES} passes: ${left.map((s) => `${s.service} (${s.reason})`).join(", ")}` : null;
    const status = unconverged ? "degraded" : health.status;
    const detail = [unconverged, health.detail].filter(Boolean).join("; ") || null;
    store.environments.setStatus(env.id, status, detail, this.#now(), env.generation);
    events.emit({ type: "reconcile:done", scope, data: { environment: env.name, generation: env.generation, steps, ms: clock.now() - started } });
  }

}

/**
 * The spec a desired release was cut with. It differs from the service's current spec only when
 * newer inputs failed and the last good release is enforced (or a rollback): that release runs as
 * it was cut — re-applying it with the failed inputs' start command would fail it too, and mark
 * the good inputs failed (issue 15: "(last deploy failed)" stayed after the blueprint was reverted).
 */
function releaseSpec(store: Store, releaseId: string, fallback: ServiceSpec): ServiceSpec {
  return (store.releases.byId(releaseId)?.config as Partial<ReleaseConfig> | undefined)?.spec ?? fallback;
}

/** Issue 19: the service's desired state is "asleep" (its sleep setting still on). */
function isAsleep(s: { readonly asleepSince: string | null; readonly sleepAfterMs: number | null }): boolean {
  return s.asleepSince !== null && s.sleepAfterMs !== null;
}

/** The spec an asleep service runs with: no instances (a singleton never sleeps, see desired.ts). */
function asleepSpec(spec: ServiceSpec): ServiceSpec {
  return spec.singleton ? spec : { ...spec, replicas: 0 };
}
