/**
 * The pure reconcile planner: desired state (from the store) against actual state (from the
 * engine) -> the steps that close the gap. No I/O, so it is tested with plain data.
 */
import { type ActualService, type ServiceRef, type ServiceSpec, sameSpec } from "../engine/engine.ts";

export interface DesiredService {
  readonly serviceId: string;
  readonly spec: ServiceSpec;
  /** Digest of everything that goes into a release (build inputs + config). */
  readonly inputsDigest: string;
  /**
   * The release meant to run, if one was cut: the inputs it was cut from and the digest of the
   * resolved addresses it was sealed with (absent on releases older than that record).
   */
  readonly release: { readonly id: string; readonly inputsDigest: string; readonly addressesDigest?: string } | undefined;
  /** Inputs whose last release or rollout failed: not retried until the inputs change. */
  readonly failedDigest: string | null;
  /** Digest of the addresses the service's env reads now (deploy/addresses.ts); absent = not compared. */
  readonly addressesDigest?: string;
}

export type PlanStep =
  /** Cut a new release (build if the artifact is not cached, seal the env). */
  | { readonly kind: "release"; readonly serviceId: string; readonly service: string; readonly reason: string }
  /** Roll the service onto its desired release / spec. */
  | { readonly kind: "apply"; readonly serviceId: string; readonly service: string; readonly releaseId: string; readonly reason: string }
  /** Stop and forget a service that is no longer desired. */
  | { readonly kind: "remove"; readonly ref: ServiceRef; readonly service: string; readonly reason: string };

/** Fields whose change needs the service re-applied (everything the engine runs with), by value. */
function specChanged(a: ServiceSpec, b: ServiceSpec): boolean {
  return !sameSpec(a, b);
}

const present = (s: ActualService): number => s.instances.filter((i) => i.state !== "exited").length;

/**
 * Steps in execution order: releases first, then applies, then removals (so traffic never
 * drops because a service was removed before its replacement runs).
 */
export function plan(desired: readonly DesiredService[], actual: readonly ActualService[]): PlanStep[] {
  const releases: PlanStep[] = [];
  const applies: PlanStep[] = [];
  const removals: PlanStep[] = [];
  const actualByName = new Map(actual.map((a) => [a.ref.service, a]));
  for (const d of desired) {
    const name = d.spec.ref.service;
    const blocked = d.failedDigest === d.inputsDigest;
    // Nothing good to run yet, or the desired release is the one that failed (a first deploy
    // has no older release to fall back on): wait for new inputs or an explicit retry, rather
    // than re-deploying the same failure on every pass.
    if (blocked && (!d.release || d.release.inputsDigest === d.failedDigest)) continue;
    const stale = d.release?.addressesDigest !== undefined && d.addressesDigest !== undefined && d.release.addressesDigest !== d.addressesDigest;
    if (!blocked && (!d.release || d.release.inputsDigest !== d.inputsDigest || stale)) {
      const reason = !d.release ? "no release yet" : d.release.inputsDigest !== d.inputsDigest ? "inputs changed" : "resolved addresses changed";
      releases.push({ kind: "release", serviceId: d.serviceId, service: name, reason });
      continue; // applied on the next pass, once the release exists
    }
    if (!d.release) continue;
    const a = actualByName.get(name);
    const base = { kind: "apply" as const, serviceId: d.serviceId, service: name, releaseId: d.release.id };
    if (!a) applies.push({ ...base, reason: "not running" });
    else if (a.releaseId !== d.release.id) applies.push({ ...base, reason: "new release" });
    else if (specChanged(a.spec, d.spec)) applies.push({ ...base, reason: "spec changed" });
    else if (present(a) !== d.spec.replicas) applies.push({ ...base, reason: `${present(a)} of ${d.spec.replicas} instances` });
  }
  const wanted = new Set(desired.map((d) => d.spec.ref.service));
  for (const a of actual) {
    if (!wanted.has(a.ref.service)) removals.push({ kind: "remove", ref: a.ref, service: a.ref.service, reason: "not in the blueprint" });
  }
  return [...releases, ...applies, ...removals];
}
