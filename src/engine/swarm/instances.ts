/**
 * Pure: Swarm tasks as Berth instances. An instance is a (slot, generation) pair: Swarm replaces
 * a killed task by a new task in the same slot, which Berth reports as the same instance
 * restarted (as the local engine does), while a new release or spec is a new generation and so
 * new instances. Endpoints are the host-mode published ports the tasks API reports, on the
 * address of the node the task runs on.
 */
import { constants } from "node:os";
import type { ActualInstance, Endpoint, InstanceState, ServiceSpec } from "../engine.ts";
import { DEFAULT_INTERNAL_PORT } from "../network.ts";
import { L } from "./service-spec.ts";

/** The fields of a Docker task this module reads (Engine API `Task`). */
export interface DockerTask {
  readonly ID: string;
  readonly ServiceID: string;
  readonly NodeID?: string;
  readonly Slot?: number;
  readonly CreatedAt: string;
  readonly DesiredState: string;
  readonly Spec: { readonly ContainerSpec?: { readonly Labels?: Readonly<Record<string, string>> } };
  readonly Status: {
    readonly Timestamp: string;
    readonly State: string;
    readonly Err?: string;
    readonly ContainerStatus?: { readonly ContainerID?: string; readonly PID?: number; readonly ExitCode?: number };
    readonly PortStatus?: { readonly Ports?: readonly { readonly TargetPort?: number; readonly PublishedPort?: number }[] };
  };
}

const TERMINAL = new Set(["complete", "failed", "shutdown", "rejected", "orphaned", "remove"]);
export const isTerminal = (t: DockerTask): boolean => TERMINAL.has(t.Status.State);
const isLive = (t: DockerTask): boolean => t.DesiredState === "running" || t.DesiredState === "ready";
/** A task that ran and ended by itself (exited or failed its health check), not one Swarm called off. */
export const ran = (t: DockerTask): boolean => t.Status.State === "failed" || t.Status.State === "complete";

/** An instance plus what the engine needs to act on it. */
export interface SwarmInstance extends ActualInstance {
  readonly taskId: string;
  readonly containerId?: string;
  readonly nodeId?: string;
  readonly generation: string;
  /** Every task of this instance, oldest first. */
  readonly tasks: readonly DockerTask[];
}

/** RFC 3339 with nanoseconds, trailing zeros trimmed (Go): padded so text order is time order. */
export function timeKey(rfc3339: string): string {
  const m = /^(.*?)(?:\.(\d+))?Z$/.exec(rfc3339);
  return m ? `${m[1]}.${(m[2] ?? "").padEnd(9, "0")}Z` : rfc3339;
}

function signalName(code: number): string | null {
  const n = code - 128;
  return (Object.entries(constants.signals).find(([, v]) => v === n)?.[0] as string | undefined) ?? null;
}

/** How a finished task ended, as the local engine reports a process exit. */
export function exitOf(t: DockerTask): NonNullable<ActualInstance["lastExit"]> {
  const code = t.Status.ContainerStatus?.ExitCode ?? null;
  const killed = code !== null && code > 128 ? signalName(code) : null;
  return { code: killed ? null : code, signal: killed, oom: /OOM/i.test(t.Status.Err ?? ""), at: t.Status.Timestamp };
}

export interface InstancesInput {
  readonly spec: ServiceSpec;
  /** The generation of the service's current task template. */
  readonly generation: string;
  readonly tasks: readonly DockerTask[];
  /** Node id -> address the node's published ports are reached on. */
  readonly nodeAddr: (nodeId: string | undefined) => string;
  /** Node id -> its hostname (what `actual()` reports as where the instance runs). */
  readonly nodeName?: (nodeId: string) => string | undefined;
}

/**
 * The instances of one service. Tasks Swarm is shutting down (replaced, scaled away, rolled
 * back) are not instances any more: the engine has taken them out of rotation. A slot whose last
 * task ended and will not be restarted (policy never, retries used up) stays, `exited`.
 */
export function instancesOf(input: InstancesInput): SwarmInstance[] {
  const { spec, generation } = input;
  const groups = new Map<string, DockerTask[]>();
  for (const t of input.tasks) {
    const gen = t.Spec.ContainerSpec?.Labels?.[L.generation] ?? "";
    const key = `${t.Slot ?? 0}/${gen}`;
    const g = groups.get(key);
    if (g) g.push(t);
    else groups.set(key, [t]);
  }
  const out: SwarmInstance[] = [];
  for (const [key, tasks] of groups) {
    tasks.sort((a, b) => (timeKey(a.CreatedAt) < timeKey(b.CreatedAt) ? -1 : 1));
    // The current task is the newest one Swarm wants running: a rollback creates (and at once
    // shuts down) extra tasks in slots whose old task kept running; those are not the instance.
    const latest = tasks.findLast(isLive) ?? tasks.at(-1)!;
    const [slot, gen] = key.split("/") as [string, string];
    const live = isLive(latest);
    const failures = tasks.filter(ran).length;
    const restartsLeft =
      spec.restart.policy === "always" ? true : spec.restart.policy === "on-failure" ? failures <= spec.restart.maxRetries && latest.Status.State !== "complete" : false;
    let state: InstanceState;
    if (live && !isTerminal(latest)) state = latest.Status.State === "running" ? "healthy" : "starting";
    else if (gen === generation && latest.DesiredState !== "remove" && isTerminal(latest) && !restartsLeft) state = "exited";
    else if (gen === generation && live && isTerminal(latest)) state = "starting";
    else continue;
    const ended = tasks.findLast(ran);
    const port = latest.Status.PortStatus?.Ports?.find((p) => p.TargetPort === DEFAULT_INTERNAL_PORT)?.PublishedPort;
    const endpoint: Endpoint | undefined = spec.listens && port && !isTerminal(latest) ? { host: input.nodeAddr(latest.NodeID), port } : undefined;
    const pid = latest.Status.ContainerStatus?.PID;
    const node = latest.NodeID ? (input.nodeName?.(latest.NodeID) ?? latest.NodeID.slice(0, 12)) : undefined;
    const releaseNumber = Number(latest.Spec.ContainerSpec?.Labels?.[L.releaseNumber] ?? 0);
    out.push({
      id: `${spec.ref.service}.${slot}.${gen}`,
      releaseId: latest.Spec.ContainerSpec?.Labels?.[L.releaseId] ?? "",
      releaseNumber,
      state,
      ...(pid && !isTerminal(latest) ? { pid } : {}),
      ...(endpoint ? { endpoint } : {}),
      ...(node ? { node } : {}),
      restarts: state === "exited" ? Math.max(0, failures - 1) : tasks.filter((t) => t !== latest && ran(t)).length,
      startedAt: latest.Status.State === "running" ? latest.Status.Timestamp : latest.CreatedAt,
      ...(ended ? { lastExit: exitOf(ended) } : {}),
      taskId: latest.ID,
      ...(latest.Status.ContainerStatus?.ContainerID ? { containerId: latest.Status.ContainerStatus.ContainerID } : {}),
      ...(latest.NodeID ? { nodeId: latest.NodeID } : {}),
      generation: gen,
      tasks,
    });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
