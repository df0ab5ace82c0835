/**
 * The deploy pipeline: named, timed steps with events. `cutReleases` builds (or reuses the cached
 * artifact) and seals the env into an immutable, numbered release; `rollout` runs the preDeploy
 * and initialDeploy tasks and hands the release to the engine with a health gate and the traffic
 * port. Any failure leaves the previous release serving and the deploy `failed` with its step
 * and reason.
 */
import type { Clock } from "../core/clock.ts";
import { bounded, yieldToLoop } from "../core/concurrency.ts";
import { toBerthError } from "../core/errors.ts";
import type { EventSink } from "../core/events.ts";
import type { Artifact, Engine, HealthGate, Release, RolloutPolicy, ServiceSpec, TrafficPort } from "../engine/engine.ts";
import type { EnvironmentRow } from "../store/repositories/environments.ts";
import type { ReleaseRow } from "../store/repositories/releases.ts";
import type { ServiceRow } from "../store/repositories/services.ts";
import type { Store } from "../store/store.ts";
import { buildDigest, type ReleaseInputs } from "./inputs.ts";
import type { Builder, EnvSealer } from "./ports.ts";

/** Builds of one batch running at once (most are cache hits; real builds are CPU-bound). */
const BUILD_CONCURRENCY = 4;

export interface PipelineDeps {
  readonly store: Store;
  readonly engine: Engine;
  readonly events: EventSink;
  readonly clock: Clock;
  readonly builder: Builder;
  readonly sealer: EnvSealer;
  readonly health: HealthGate;
  readonly traffic: TrafficPort;
  /** Releases kept per service beyond those running or desired. */
  readonly keepReleases?: number;
}

/** Start-first (zero downtime) unless one-at-a-time is required: singletons and disk holders. */
export function rolloutPolicyFor(spec: ServiceSpec): RolloutPolicy {
  if (spec.singleton || spec.disks.length > 0) return { kind: "stop-first" };
  return { kind: "start-first", maxSurge: Math.max(1, spec.replicas) };
}

/** What a release records besides its artifact and sealed env (the `config` column). */
export interface ReleaseConfig {
  readonly spec: ServiceSpec;
  readonly inputs: ReleaseInputs;
  /** Digest of the service inputs the release was cut from. */
  readonly inputsDigest: string;
  /** Digest of the resolved addresses its env was sealed with (addresses.ts); absent on older releases. */
  readonly addressesDigest?: string;
}

export function toEngineRelease(row: ReleaseRow, spec: ServiceSpec): Release {
  return { id: row.id, number: row.number, service: spec.ref, artifact: row.artifact, sealedEnv: row.sealedEnv };
}

export class DeployPipeline {
  readonly #d: PipelineDeps;
  constructor(deps: PipelineDeps) {
    this.#d = deps;
  }

  #now(): string {
    return new Date(this.#d.clock.now()).toISOString();
  }

  #scope(env: EnvironmentRow, service: ServiceRow) {
    return { project: env.project, environment: env.name, service: service.name };
  }

  /**
   * Build (cached by content) + seal env -> a new immutable release each service now desires.
   * The environment and the services are read here, together, rather than taken from the
   * caller: a sync that landed since the caller read them (a running reconcile) must never
   * produce a release that records the new inputs digest while sealing the old blueprint's env.
   * Each release records the digest of exactly what it sealed; if a sync lands during the build,
   * the next pass sees a newer digest and cuts again. The services are sealed together (one
   * resolution of the environment's env per batch, issue 15); if that fails, one by one, so a
   * service that cannot be sealed fails alone.
   */
  async cutReleases(environmentId: string, serviceIds: readonly string[], actor: string, signal: AbortSignal): Promise<void> {
    const { store, events } = this.#d;
    const env = store.environments.byId(environmentId);
    if (!env) return;
    void env.blueprint; // pinned now: the document of this generation, read with the services
    const services = serviceIds.flatMap((id) => store.services.byId(id) ?? []);
    const started = this.#d.clock.now();
    const artifacts = new Map<string, Artifact>();
    await bounded(services, BUILD_CONCURRENCY, signal, async (service) => {
      const scope = this.#scope(env, service);
      // Promotion (issue 19): the very artifact the other environment runs, never rebuilt.
      const promoted = (service.inputs as ReleaseInputs).promoted;
      if (promoted) {
        events.emit({ type: "deploy:build:log", scope, actor, data: { line: `promoted: the artifact of ${promoted.environment} release #${promoted.release} (${promoted.artifact.digest.slice(0, 12)}), no build`, stream: "stdout" } });
        artifacts.set(service.id, promoted.artifact);
        return;
      }
      events.emit({ type: "deploy:build:started", scope, actor, data: { service: service.name } });
      try {
        const artifact = await this.#d.builder.build({
          environment: env,
          service,
          signal,
          onLog: (line) => events.emit({ type: "deploy:build:log", scope, actor, data: { line: line.line, stream: line.stream } }),
        });
        artifacts.set(service.id, artifact);
      } catch (e) {
        this.#cutFailed(env, service, actor, "build", e, started);
      }
    });
    const built = services.filter((s) => artifacts.has(s.id));
    if (built.length === 0 || signal.aborted) return;
    const ctx = await this.#d.sealer.prepare?.(env);
    // From here to the releases' transaction nothing awaits (with a two-phase sealer): the
    // services are re-read and sealed in one go, so a secret or sync that landed during the
    // builds is in the release *and* in the digest it records — no second, redundant release.
    const envNow = store.environments.byId(environmentId);
    if (!envNow || envNow.generation !== env.generation) return; // a sync landed: the next pass re-plans
    void envNow.blueprint;
    const fresh = built.flatMap((s) => {
      const now = store.services.byId(s.id);
      // New build inputs since the build: the next pass builds them.
      return now && buildDigest(now.inputs as ReleaseInputs) === buildDigest(s.inputs as ReleaseInputs) ? [now] : [];
    });
    let sealed: Readonly<Record<string, string>> = {};
    if (ctx) {
      try {
        sealed = ctx.sealMany(envNow, fresh);
      } catch {
        // One of them cannot be sealed: each is sealed alone, so it fails alone.
        for (const service of fresh) {
          try {
            sealed = { ...sealed, ...ctx.sealMany(envNow, [service]) };
          } catch (e) {
            this.#cutFailed(envNow, service, actor, "build", e, started);
          }
        }
      }
    } else {
      for (const service of fresh) {
        try {
          sealed = { ...sealed, [service.name]: await this.#d.sealer.seal(envNow, service) };
        } catch (e) {
          this.#cutFailed(envNow, service, actor, "build", e, started);
        }
      }
    }
    // Sealed: what each release records is fixed now, so the loop may give the event loop turns.
    for (const service of fresh) {
      await yieldToLoop();
      const sealedEnv = sealed[service.name];
      if (sealedEnv === undefined) continue;
      const artifact = artifacts.get(service.id)!;
      const config: ReleaseConfig = {
        spec: service.spec,
        inputs: service.inputs as ReleaseInputs,
        inputsDigest: service.inputsDigest,
        ...(ctx ? { addressesDigest: ctx.addresses(service.name) } : {}),
      };
      const release = store.db.tx(() => {
        const row = store.releases.create(service.id, artifact, config, sealedEnv, this.#now());
        store.services.setDesiredRelease(service.id, row.id, this.#now());
        return row;
      });
      events.emit({
        type: "deploy:release:created",
        scope: this.#scope(envNow, service),
        actor,
        data: { service: service.name, release: release.number, digest: artifact.digest, ms: this.#d.clock.now() - started },
      });
      this.#prune(service.id);
    }
  }

  /** A release that could not be cut: its inputs are marked failed, with a failed deploy saying why. */
  #cutFailed(env: EnvironmentRow, service: ServiceRow, actor: string, step: string, e: unknown, started: number): void {
    const { store, events } = this.#d;
    const err = toBerthError(e);
    store.services.markFailed(service.id, service.inputsDigest, this.#now());
    const deploy = store.deploys.create({ environmentId: env.id, serviceId: service.id, releaseId: null, actor }, this.#now());
    store.deploys.addStep(deploy.id, { step, detail: err.message, ms: this.#d.clock.now() - started, at: this.#now() });
    store.deploys.finish(deploy.id, "failed", `${step}: ${err.message}`, this.#now());
    events.emit({ type: "deploy:failed", scope: this.#scope(env, service), actor, data: { deploy: deploy.id, service: service.name, step, reason: err.message } });
  }

  /** Per-service digests of the addresses envs read now (none when the sealer does not report them). */
  async addresses(env: EnvironmentRow): Promise<((service: string) => string) | undefined> {
    return this.#d.sealer.addresses?.(env);
  }

  /** Rolls the service onto `release`. Returns true when it went live. */
  async rollout(env: EnvironmentRow, service: ServiceRow, release: ReleaseRow, previousReleaseId: string | undefined, actor: string, signal: AbortSignal): Promise<boolean> {
    const { store, events, engine } = this.#d;
    const scope = this.#scope(env, service);
    const deploy = store.deploys.create({ environmentId: env.id, serviceId: service.id, releaseId: release.id, actor }, this.#now());
    const step = (name: string, detail: string, ms: number) => {
      store.deploys.addStep(deploy.id, { step: name, detail, ms, at: this.#now() });
      events.emit({ type: "deploy:step", scope, actor, data: { deploy: deploy.id, service: service.name, step: name, detail, ms } });
    };
    // The inputs this release was cut from: a failure blocks exactly them, never newer inputs
    // a sync recorded while this (older) release rolled out.
    const releaseDigest = (release.config as Partial<ReleaseConfig>).inputsDigest ?? service.inputsDigest;
    const fail = (name: string, reason: string): false => {
      store.db.tx(() => {
        store.deploys.finish(deploy.id, "failed", `${name}: ${reason}`, this.#now());
        store.services.markFailed(service.id, releaseDigest, this.#now());
        if (previousReleaseId) store.services.setDesiredRelease(service.id, previousReleaseId, this.#now());
      });
      events.emit({ type: "deploy:failed", scope, actor, data: { deploy: deploy.id, service: service.name, step: name, reason } });
      return false;
    };
    events.emit({ type: "deploy:started", scope, actor, data: { deploy: deploy.id, service: service.name, release: release.number } });
    // The release runs as it was cut: an older one enforced after newer inputs failed keeps its
    // own start command and health check, not the failed inputs' ones. The instance count is not
    // the release's: it is the service's (the blueprint's, or the autoscaler's since), as scaling
    // on Heroku or Render cuts no release.
    const cut = (release.config as Partial<ReleaseConfig>).spec;
    const spec = cut ? { ...cut, replicas: service.spec.replicas } : service.spec;
    const engineRelease = toEngineRelease(release, spec);
    const inputs = service.inputs as ReleaseInputs;

    // preDeploy runs for a release going live for the first time; a rollback to a release that
    // was live before does not run it again (its migrations already ran).
    const wasLive = store.deploys.list({ serviceId: service.id, limit: 500 }).some((d) => d.releaseId === release.id && d.status === "live");
    const isNewRelease = previousReleaseId !== release.id && !wasLive;
    const tasks: { kind: "initialDeploy" | "preDeploy"; command: string }[] = [];
    if (isNewRelease && inputs.initialDeploy && !store.runs.hasSucceeded(service.id, "initialDeploy")) {
      tasks.push({ kind: "initialDeploy", command: inputs.initialDeploy });
    }
    if (isNewRelease && inputs.preDeploy) tasks.push({ kind: "preDeploy", command: inputs.preDeploy });
    for (const task of tasks) {
      const started = this.#d.clock.now();
      const run = store.runs.start({ serviceId: service.id, kind: task.kind, command: task.command }, this.#now());
      try {
        const result = await engine.runTask(
          {
            id: run.id,
            kind: task.kind,
            service: spec,
            release: engineRelease,
            command: task.command,
            extraEnv: { BERTH_RUN_ID: run.id },
            timeoutMs: 30 * 60_000,
            onLog: (line) => events.emit({ type: "deploy:task:log", scope, actor, data: { run: run.id, line: line.line, stream: line.stream } }),
          },
          signal,
        );
        const ok = result.exitCode === 0 && !result.timedOut;
        const detail = result.timedOut ? "timed out" : `exit ${result.exitCode ?? result.signal}`;
        store.runs.finish(run.id, ok ? "succeeded" : result.timedOut ? "timed-out" : "failed", result.exitCode, detail, this.#now());
        step(task.kind, `${task.command}: ${detail}`, this.#d.clock.now() - started);
        if (!ok) return fail(task.kind, `\`${task.command}\` ${detail}; the previous release keeps serving`);
      } catch (e) {
        const err = toBerthError(e);
        store.runs.finish(run.id, "failed", null, err.message, this.#now());
        return fail(task.kind, err.message);
      }
    }

    let last: { step: string; detail: string; ms: number; failedStep?: string } = { step: "start", detail: "", ms: 0 };
    try {
      for await (const ev of engine.apply(spec, engineRelease, { policy: rolloutPolicyFor(spec), health: this.#d.health, traffic: this.#d.traffic }, signal)) {
        last = ev;
        if (ev.step === "failed") break;
        step(ev.step, ev.detail, ev.ms);
      }
    } catch (e) {
      last = { step: "failed", detail: toBerthError(e).message, ms: 0 };
    }
    if (last.step !== "done") {
      // The failing step is recorded under its own name (a failed health check is `health`,
      // not the `start` before it), so the deploy's current step says where it failed.
      const name = last.step === "failed" ? (last.failedStep ?? "rollout") : last.step;
      const reason = last.detail || "the engine stopped without finishing";
      store.deploys.addStep(deploy.id, { step: name, detail: reason, ms: last.ms, at: this.#now() });
      return fail(name, reason);
    }
    store.deploys.finish(deploy.id, "live", null, this.#now());
    // Only this release's own failure mark goes: enforcing the last good release must not
    // unblock newer inputs that failed (they would be retried on every pass).
    store.services.clearFailed(service.id, releaseDigest, this.#now());
    events.emit({ type: "deploy:live", scope, actor, data: { deploy: deploy.id, service: service.name, release: release.number } });
    return true;
  }

  #prune(serviceId: string): void {
    const svc = this.#d.store.services.byId(serviceId);
    const protect = new Set([svc?.desiredReleaseId].filter((x): x is string => !!x));
    this.#d.store.releases.prune(serviceId, this.#d.keepReleases ?? 10, protect);
  }
}

