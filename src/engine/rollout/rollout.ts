/**
 * The rollout algorithm shared by engines that run their own steps (local, memory): start-first
 * and stop-first rollouts, scaling, and putting the previous release back when a gate fails.
 * Engines supply the mechanics through a `RolloutDriver`; this file decides the order.
 *
 * Decisions (docs/design/engine-local.md):
 * - start-first starts ALL new instances (at most `maxSurge` starting at once) and gates them
 *   before traffic moves, so a failed gate leaves the old release serving untouched.
 * - a singleton is always rolled out stop-first: "exactly one at any moment" beats zero downtime.
 * - instances that exited and are not restarted (policy `never`, retries used up) still count
 *   toward the replica count, so re-applying does not defeat the restart policy.
 */
import type { Clock } from "../../core/clock.ts";
import { toBerthError } from "../../core/errors.ts";
import { type Endpoint, type Release, type Rollout, type RolloutEvent, type RolloutStep, type ServiceRef, type ServiceSpec, sameSpec } from "../engine.ts";

/** An instance as the rollout sees it. */
export interface RolloutInstance {
  readonly id: string;
  readonly releaseId: string;
  readonly endpoint?: Endpoint;
  /** True while the run that was started is still running (no exit, no restart since). */
  alive(): boolean;
}

/** What the service currently is, as far as the rollout is concerned. */
export interface SettledService {
  readonly spec: ServiceSpec;
  readonly release: Release;
  readonly instances: readonly RolloutInstance[];
}

/** Mechanics an engine provides to `runRollout`. */
export interface RolloutDriver {
  current(ref: ServiceRef): SettledService | undefined;
  /** Starts one instance (opening the release env). Not supervised until `markHealthy`. */
  startInstance(spec: ServiceSpec, release: Release): Promise<RolloutInstance>;
  /** Passed its gate: from now on it is supervised (restarts, continued health checks). */
  markHealthy(ref: ServiceRef, instanceId: string): void;
  /** Graceful stop (SIGTERM, then SIGKILL after the shutdown delay); forgets the instance. */
  stopInstance(ref: ServiceRef, instanceId: string): Promise<void>;
  /** Records what the service is now settled on, with the rollout used for later restarts. */
  settle(spec: ServiceSpec, release: Release, rollout: Rollout): void;
}

/** Replica count the spec asks for. */
export function desiredReplicas(spec: ServiceSpec): number {
  return spec.singleton ? 1 : Math.max(0, spec.replicas);
}

/** Same spec apart from the replica count (so only scaling is needed). */
export function sameShape(a: ServiceSpec, b: ServiceSpec): boolean {
  return sameSpec(a, b, { ignoreReplicas: true });
}

class Aborted extends Error {}

/** Runs one rollout; the last event is `done` or `failed`. Never throws. */
export async function* runRollout(
  driver: RolloutDriver,
  spec: ServiceSpec,
  release: Release,
  rollout: Rollout,
  signal: AbortSignal,
  clock: Clock,
): AsyncGenerator<RolloutEvent> {
  const t0 = clock.now();
  const ev = (step: RolloutStep, detail: string, instanceId?: string): RolloutEvent => ({
    step,
    detail,
    ms: clock.now() - t0,
    ...(instanceId ? { instanceId } : {}),
  });
  const ref = spec.ref;
  /** Where the rollout is, so a failure names the step that failed (issue 15: not always `start`). */
  let phase: RolloutStep = "start";
  const failed = (detail: string): RolloutEvent => ({ ...ev("failed", detail), failedStep: phase });
  const check = (): void => {
    if (signal.aborted) throw new Aborted("rollout aborted");
  };
  const cur = driver.current(ref);
  const desired = desiredReplicas(spec);
  const started: RolloutInstance[] = [];
  const stopStarted = async (): Promise<void> => {
    await Promise.all(started.map((s) => driver.stopInstance(ref, s.id).catch(() => {})));
    started.length = 0;
  };

  /** Starts `count` instances, gating at most `batch` at once; returns a failure text or undefined. */
  async function* startGated(s: ServiceSpec, r: Release, count: number, batch: number, step: RolloutStep): AsyncGenerator<RolloutEvent, string | undefined> {
    for (let i = 0; i < count; i += batch) {
      const group: RolloutInstance[] = [];
      for (let k = 0; k < Math.min(batch, count - i); k++) {
        check();
        phase = "start";
        const inst = await driver.startInstance(s, r);
        started.push(inst);
        group.push(inst);
        yield ev(step === "scale" ? "scale" : "start", `started ${inst.id} (release ${r.number})`, inst.id);
      }
      phase = "health";
      const results = await Promise.all(
        group.map((inst) => rollout.health.wait({ id: inst.id, endpoint: inst.endpoint, alive: () => inst.alive() }, s.health, signal)),
      );
      check();
      for (const [k, inst] of group.entries()) {
        const res = results[k]!;
        if (!res.ok) return `instance ${inst.id} failed its health check: ${res.detail}`;
        driver.markHealthy(ref, inst.id);
        yield ev("health", `${inst.id} healthy`, inst.id);
      }
    }
    return undefined;
  }

  const addTraffic = async (s: ServiceSpec, list: readonly RolloutInstance[]): Promise<void> => {
    if (!s.listens) return;
    phase = "switch";
    for (const inst of list) if (inst.endpoint) await rollout.traffic.add(ref, inst.id, inst.endpoint);
  };
  const drainAndStop = async (s: ServiceSpec, list: readonly RolloutInstance[]): Promise<void> => {
    phase = "drain";
    if (s.listens) for (const inst of list) await rollout.traffic.remove(ref, inst.id, { drainMs: s.shutdownDelayMs });
    await Promise.all(list.map((inst) => driver.stopInstance(ref, inst.id)));
  };

  try {
    // Same release and shape: only scale.
    if (cur && cur.release.id === release.id && sameShape(cur.spec, spec)) {
      const have = cur.instances.filter((i) => i.releaseId === release.id);
      // Leftovers of an interrupted rollout (e.g. the daemon died mid-deploy) go away.
      const strays = cur.instances.filter((i) => i.releaseId !== release.id);
      if (strays.length > 0) await drainAndStop(spec, strays);
      if (have.length < desired) {
        const failure = yield* startGated(spec, release, desired - have.length, desired - have.length, "scale");
        if (failure) {
          await stopStarted();
          yield failed(failure);
          return;
        }
        await addTraffic(spec, started);
      } else if (have.length > desired) {
        const extra = have.slice(desired);
        await drainAndStop(spec, extra);
        yield ev("scale", `stopped ${extra.length} instance(s)`);
      }
      driver.settle(spec, release, rollout);
      yield ev("done", have.length === desired ? `already running ${desired} instance(s) of release ${release.number}` : `scaled to ${desired}`);
      return;
    }

    const old = cur?.instances ?? [];
    const stopFirst = spec.singleton || rollout.policy.kind === "stop-first";
    if (stopFirst) {
      await drainAndStop(cur?.spec ?? spec, old);
      if (old.length > 0) yield ev("drain", `stopped ${old.length} old instance(s)`);
      const failure = yield* startGated(spec, release, desired, Math.max(1, desired), "start");
      if (failure) {
        await stopStarted();
        let back = "";
        if (cur && old.length > 0) {
          // Put the previous release back: it was serving before this rollout stopped it.
          const again = yield* startGated(cur.spec, cur.release, old.length, old.length, "start");
          if (!again) {
            await addTraffic(cur.spec, started);
            driver.settle(cur.spec, cur.release, rollout);
            started.length = 0;
            back = `; release ${cur.release.number} restarted`;
          } else {
            await stopStarted();
            back = `; restarting release ${cur.release.number} failed too: ${again}`;
          }
        }
        yield failed(failure + back);
        return;
      }
      await addTraffic(spec, started);
      yield ev("switch", `${started.length} instance(s) in rotation`);
      driver.settle(spec, release, rollout);
      started.length = 0;
      yield ev("done", `release ${release.number} running ${desired} instance(s)`);
      return;
    }

    const surge = rollout.policy.kind === "start-first" ? Math.max(1, rollout.policy.maxSurge) : 1;
    const failure = yield* startGated(spec, release, desired, surge, "start");
    if (failure) {
      await stopStarted();
      yield failed(failure);
      return;
    }
    check();
    await addTraffic(spec, started);
    yield ev("switch", `${started.length} new instance(s) in rotation`);
    driver.settle(spec, release, rollout);
    started.length = 0;
    if (old.length > 0) {
      await drainAndStop(cur?.spec ?? spec, old);
      yield ev("drain", `stopped ${old.length} old instance(s)`);
    }
    yield ev("done", `release ${release.number} running ${desired} instance(s)`);
  } catch (e) {
    await stopStarted();
    yield failed(e instanceof Aborted ? e.message : toBerthError(e).message);
  }
}
