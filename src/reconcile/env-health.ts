/**
 * What an environment's status says, from what actually runs (issue 15, level-based truth). An
 * environment is `live` only when every service has its desired number of healthy instances of
 * its desired release and no service's current inputs are blocked by a failed deploy; anything
 * else is `degraded`, with a detail naming each service and why. Pure: the reconciler feeds it
 * the store's desired state and the engine's actual state.
 */
import type { ActualService, InstanceState, ServiceKind } from "../engine/engine.ts";

export interface ServiceHealthInput {
  readonly name: string;
  readonly kind: ServiceKind;
  readonly replicas: number;
  readonly desiredReleaseId: string | null;
  /** The service's current inputs failed their last release or rollout (not retried until they change). */
  readonly blocked: boolean;
}

export interface EnvironmentHealth {
  readonly status: "live" | "degraded";
  readonly detail: string | null;
}

/** Services named in the detail; the rest are counted. */
const MAX_NAMED = 10;

const WORST: readonly InstanceState[] = ["crash-looping", "unhealthy", "exited", "starting", "draining"];

/** One service's problem, or undefined when it runs as desired. */
export function serviceProblem(s: ServiceHealthInput, actual: ActualService | undefined): string | undefined {
  if (s.blocked) return `${s.name}: last deploy failed; not retried until its inputs change (berth deploy --retry)`;
  // Cron jobs run as tasks: no instances to count.
  if (s.kind === "cron" || s.replicas === 0) return undefined;
  const instances = (actual?.instances ?? []).filter((i) => i.releaseId === s.desiredReleaseId);
  const healthy = instances.filter((i) => i.state === "healthy").length;
  if (healthy >= s.replicas) return undefined;
  const states = new Set((actual?.instances ?? []).map((i) => i.state));
  const why = WORST.find((st) => states.has(st));
  return `${s.name}: ${healthy}/${s.replicas} healthy${why ? ` (${why})` : instances.length === 0 ? " (not running)" : ""}`;
}

export function environmentHealth(services: readonly ServiceHealthInput[], actual: readonly ActualService[]): EnvironmentHealth {
  const byName = new Map(actual.map((a) => [a.ref.service, a]));
  const problems = services.flatMap((s) => serviceProblem(s, byName.get(s.name)) ?? []);
  if (problems.length === 0) return { status: "live", detail: null };
  // Thousands of services can be starting at once: the detail names the first few.
  const shown = problems.slice(0, MAX_NAMED);
  return { status: "degraded", detail: `${shown.join("; ")}${problems.length > MAX_NAMED ? `; and ${problems.length - MAX_NAMED} more` : ""}` };
}
