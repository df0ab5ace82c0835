/**
 * One-off runs (cron, preDeploy, one-offs) as Swarm jobs: a `replicated-job` service with one
 * completion and no restarts, on the environment's network, env from a Swarm secret. The finished
 * job service is kept (the newest `keep` per service) so `logs({ instance: runId })` still reads
 * its output; older ones are removed.
 */
import { createHash } from "node:crypto";
import type { EventMap, EventType } from "../../core/events.ts";
import type { LogLine, TaskResult, TaskSpec } from "../engine.ts";
import { type DockerApi, filters } from "./docker-api.ts";
import { exitOf, type DockerTask, isTerminal } from "./instances.ts";
import { readLogs } from "./logs.ts";
import { engineEnv, L, swarmServiceName, taskCommand } from "./service-spec.ts";
import { swarmNetworkAttachment } from "./network.ts";
import type { DockerService } from "./swarm-engine.ts";
import { effectiveInstanceLimits } from "../../core/limits.ts";

export interface TaskDeps {
  readonly docker: DockerApi;
  readonly namespace: string;
  readonly redact: (text: string) => string;
  readonly keep: number;
  readonly emit: <T extends EventType>(type: T, data: EventMap[T]) => void;
  /** Opens the env and makes the image and secret (failures throw before anything runs). */
  readonly prepare: () => Promise<{ image: string; secret: { name: string; id: string } }>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Pure: the job service body of a run. */
export function planSwarmTask(spec: TaskSpec, o: { namespace: string; image: string; secret: { name: string; id: string } }): Record<string, unknown> {
  const ref = spec.service.ref;
  const limits = effectiveInstanceLimits(spec.service.limits);
  const env = engineEnv({ ...spec.service, listens: false }, spec.release);
  const name = `${swarmServiceName(o.namespace, ref).slice(0, 40)}_run_${createHash("sha256").update(spec.id).digest("hex").slice(0, 12)}`;
  return {
    Name: name,
    Labels: { [L.ns]: o.namespace, [L.role]: "task", [L.project]: ref.project, [L.environment]: ref.environment, [L.service]: ref.service, [L.task]: spec.id, "berth.task-kind": spec.kind },
    TaskTemplate: {
      ContainerSpec: {
        Image: o.image,
        Command: taskCommand(0),
        Env: [...Object.entries(env).map(([k, v]) => `${k}=${v}`), `BERTH_START=${spec.command}`],
        Dir: "/app",
        User: "65534:65534",
        Init: true,
        Labels: { [L.ns]: o.namespace, [L.task]: spec.id },
        Healthcheck: { Test: ["NONE"] },
        Secrets: [{ SecretID: o.secret.id, SecretName: o.secret.name, File: { Name: "berth-env", UID: "65534", GID: "65534", Mode: 0o400 } }],
      },
      Resources: { Limits: { MemoryBytes: limits.memoryBytes, Pids: limits.pids, ...(limits.cpuMillicores ? { NanoCPUs: limits.cpuMillicores * 1e6 } : {}) } },
      RestartPolicy: { Condition: "none" },
      Networks: [swarmNetworkAttachment(ref)],
    },
    Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
  };
}

export async function runSwarmTask(spec: TaskSpec, signal: AbortSignal, d: TaskDeps): Promise<TaskResult> {
  const t0 = Date.now();
  d.emit("task:started", { task: spec.id, kind: spec.kind });
  const { image, secret } = await d.prepare();
  const body = planSwarmTask(spec, { namespace: d.namespace, image, secret });
  const old = await d.docker.find<DockerService>({ path: `/services/${String(body.Name)}` });
  if (old) await d.docker.json({ method: "DELETE", path: `/services/${old.ID}` });
  const { ID } = await d.docker.json<{ ID: string }>({ method: "POST", path: "/services/create", body });
  const deadline = t0 + spec.timeoutMs;
  let task: DockerTask | undefined;
  let timedOut = false;
  for (;;) {
    const tasks = await d.docker.json<DockerTask[]>({ path: "/tasks", query: { filters: filters({ service: [ID] }) } });
    task = tasks.at(-1);
    if (task && isTerminal(task)) break;
    if (Date.now() > deadline || signal.aborted) {
      timedOut = !signal.aborted;
      await kill(d.docker, ID, task);
      break;
    }
    await sleep(100);
  }
  const exit = task && isTerminal(task) ? exitOf(task) : { code: null, signal: "SIGKILL", oom: false };
  const lines: LogLine[] = [];
  const source = {
    docker: d.docker,
    redact: d.redact,
    services: async () => [(await d.docker.json<DockerService>({ path: `/services/${ID}` }))],
    instanceOf: async () => new Map<string, string>(),
  };
  // A run killed before its container existed has no service left, and no output.
  if (await d.docker.find({ path: `/services/${ID}` })) for await (const l of readLogs(source, { service: spec.service.ref })) lines.push(l);
  for (const l of lines) spec.onLog?.(l);
  const result: TaskResult = { exitCode: timedOut ? null : exit.code, signal: timedOut ? "SIGKILL" : exit.signal, timedOut, oom: exit.oom, durationMs: Date.now() - t0 };
  d.emit("task:finished", { task: spec.id, kind: spec.kind, exitCode: result.exitCode, ms: result.durationMs });
  await prune(d, spec).catch(() => {});
  return result;
}

/** Kills the run's container, then waits (a little) for Swarm to record the end. */
async function kill(docker: DockerApi, serviceId: string, task: DockerTask | undefined): Promise<void> {
  const cid = task?.Status.ContainerStatus?.ContainerID;
  if (cid) await docker.json({ method: "POST", path: `/containers/${cid}/kill`, query: { signal: "KILL" } }).catch(() => {});
  else await docker.json({ method: "DELETE", path: `/services/${serviceId}` }).catch(() => {});
}

/** Keeps the newest `keep` finished runs of the service (their logs), removes the rest. */
async function prune(d: TaskDeps, spec: TaskSpec): Promise<void> {
  const ref = spec.service.ref;
  const runs = (await d.docker.json<DockerService[]>({ path: "/services", query: { filters: filters({ label: [`${L.ns}=${d.namespace}`, `${L.role}=task`, `${L.project}=${ref.project}`, `${L.environment}=${ref.environment}`, `${L.service}=${ref.service}`] }) } }))
    .sort((a, b) => (a.CreatedAt < b.CreatedAt ? 1 : -1));
  for (const s of runs.slice(d.keep)) await d.docker.json({ method: "DELETE", path: `/services/${s.ID}` }).catch(() => {});
}
