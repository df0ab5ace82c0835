/**
 * Pure: a Berth service as a Docker Swarm service (the Engine API's `ServiceSpec` body), and the
 * env secret it reads. No I/O here, so the mapping is asserted field by field in
 * service-spec.test.ts without a daemon.
 */
import { createHash } from "node:crypto";
import { effectiveInstanceLimits } from "../../core/limits.ts";
import { BerthError } from "../../core/errors.ts";
import type { ServiceRef, ServiceSpec, Release, RolloutPolicy } from "../engine.ts";
import { DEFAULT_INTERNAL_PORT } from "../network.ts";
import { swarmNetworkAttachment } from "./network.ts";

/** Labels Berth puts on what it creates; `berth.ns` separates installs (and test runs) sharing a swarm. */
export const L = {
  ns: "berth.ns",
  role: "berth.role",
  project: "berth.project",
  environment: "berth.environment",
  service: "berth.service",
  spec: "berth.spec",
  specHash: "berth.spec-hash",
  releaseId: "berth.release-id",
  releaseNumber: "berth.release-number",
  generation: "berth.generation",
  task: "berth.task",
} as const;

/** Where the env secret appears inside a task. */
export const ENV_SECRET_PATH = "/run/secrets/berth-env";

export interface SwarmPlanOptions {
  readonly namespace: string;
  /** The pinned image reference. */
  readonly image: string;
  /** Name and id of the Swarm secret holding the env file. */
  readonly secret: { readonly name: string; readonly id: string };
  /** Time an old task keeps serving after SIGTERM while the router takes it out (the drain wrapper). */
  readonly drainMs: number;
  /** Swarm restarts without backoff: this delay between restarts of one slot. */
  readonly restartDelayMs: number;
  /** Docker runs a health check by spawning node in the task: never more often than this. */
  readonly minHealthIntervalMs: number;
}

const ms = (v: number): number => Math.round(v * 1e6);
/** What Docker's health-check timeout allows for starting the probe's node process. */
const PROBE_START_MS = 2000;
const hash = (text: string): string => createHash("sha256").update(text).digest("hex");

/** The Swarm service name of a Berth service (DNS-label safe, at most 63 characters). */
export function swarmServiceName(namespace: string, ref: ServiceRef): string {
  const raw = `${namespace}_${ref.project}_${ref.environment}_${ref.service}`.replace(/[^A-Za-z0-9_.-]/g, "-");
  return raw.length <= 63 ? raw : `${raw.slice(0, 50)}_${hash(raw).slice(0, 12)}`;
}

/** What the instance ids of a rollout share: a new release or a changed spec gives new instances. */
export function generationOf(spec: ServiceSpec, release: Release): string {
  return hash(`${release.id}\n${specHash(spec)}`).slice(0, 6);
}

/** Hash of the spec apart from the replica count (scaling is not a new generation). */
export function specHash(spec: ServiceSpec): string {
  const canon = (v: unknown): string =>
    Array.isArray(v)
      ? `[${v.map(canon).join(",")}]`
      : v !== null && typeof v === "object"
        ? `{${Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canon((v as Record<string, unknown>)[k])}`).join(",")}}`
        : JSON.stringify(v);
  return hash(canon({ ...spec, replicas: 0 })).slice(0, 16);
}

/** Variables the engine sets itself (plain `Env`, visible to the health probe); the secret never overrides them. */
export function engineEnv(spec: ServiceSpec, release: Release): Record<string, string> {
  const env: Record<string, string> = {
    BERTH_PROJECT: spec.ref.project,
    BERTH_ENVIRONMENT: spec.ref.environment,
    BERTH_SERVICE: spec.ref.service,
    BERTH_RELEASE: String(release.number),
    BERTH_HEALTH_TIMEOUT_MS: String(spec.health.timeoutMs),
  };
  if (spec.listens) env.PORT = String(DEFAULT_INTERNAL_PORT);
  if (spec.listens && spec.health.path) env.BERTH_HEALTH_PATH = spec.health.path;
  return env;
}

/**
 * The env file a task sources: `export NAME='value'` lines (single quotes, `'` as `'\''`), so any
 * value survives the shell unchanged. Engine variables are left out (they are in `Env`).
 */
export function renderEnvFile(ref: ServiceRef, opened: Readonly<Record<string, string>>, reserved: ReadonlySet<string>): string {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(opened).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (reserved.has(name)) continue;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new BerthError("BERTH_SWARM_ENV_INVALID", { name, service: `${ref.project}/${ref.environment}/${ref.service}` });
    lines.push(`export ${name}='${value.replaceAll("'", `'\\''`)}'`);
  }
  return `${lines.join("\n")}\n`;
}

/** The Swarm secret name of an env file: content-addressed, so an unchanged env reuses its secret. */
export function envSecretName(namespace: string, ref: ServiceRef, envFile: string): string {
  return `${swarmServiceName(namespace, ref).slice(0, 40)}_env_${hash(envFile).slice(0, 16)}`;
}

/**
 * The task's command: source the env secret, run the start line (`BERTH_START` in the task's
 * plain env: it is no secret, and needs no quoting there), and on SIGTERM keep serving for
 * `drainMs` (the router takes the task out meanwhile) before passing the signal on — Swarm stops
 * old tasks as soon as new ones are healthy, with no hook in between.
 */
export function taskCommand(drainMs: number): string[] {
  const drain = (drainMs / 1000).toFixed(3);
  const script = [
    `. ${ENV_SECRET_PATH} || exit 97`,
    `/bin/sh -c "$BERTH_START" & pid=$!`,
    `trap 'sleep ${drain}; kill -TERM $pid 2>/dev/null' TERM INT`,
    "code=0",
    "while kill -0 $pid 2>/dev/null; do wait $pid; code=$?; done",
    "wait $pid 2>/dev/null; c=$?; [ $c -ne 127 ] && code=$c",
    "exit $code",
  ].join("\n");
  return ["/bin/sh", "-c", script];
}

function restartPolicy(spec: ServiceSpec, delayMs: number): Record<string, unknown> {
  const r = spec.restart;
  const condition = r.policy === "always" ? "any" : r.policy === "on-failure" ? "on-failure" : "none";
  return { Condition: condition, Delay: ms(delayMs), ...(r.policy === "on-failure" ? { MaxAttempts: r.maxRetries } : {}) };
}

function healthCheck(spec: ServiceSpec, minIntervalMs: number): Record<string, unknown> {
  if (!spec.listens) return { Test: ["NONE"] };
  const h = spec.health;
  return {
    Test: ["CMD", "/usr/local/bin/node", "/berth/probe.cjs"],
    Interval: ms(Math.max(h.intervalMs, minIntervalMs)),
    // The probe is a node process started in the task: its start-up (0.1 s idle, over 0.5 s on
    // a loaded machine) counts against Docker's timeout, and three slow starts rolled a healthy
    // release back. The HTTP check inside keeps the blueprint's own timeout.
    Timeout: ms(h.timeoutMs + PROBE_START_MS),
    Retries: h.unhealthyThreshold,
    StartPeriod: ms(h.graceMs),
  };
}

/**
 * The update (and rollback) configuration. Start-first with `maxSurge` new tasks at a time,
 * stop-first for singletons whatever was asked; a failing new task rolls the service back.
 */
export function updateConfig(spec: ServiceSpec, policy: RolloutPolicy): Record<string, unknown> {
  const stopFirst = spec.singleton || policy.kind === "stop-first";
  const parallelism = stopFirst ? 1 : Math.max(1, policy.maxSurge);
  // Failures this long after a task turned healthy still roll the update back.
  const monitorMs = Math.max(1000, spec.health.graceMs, spec.health.intervalMs * spec.health.unhealthyThreshold);
  return {
    Parallelism: parallelism,
    Delay: 0,
    FailureAction: "rollback",
    Monitor: ms(monitorMs),
    MaxFailureRatio: 0,
    Order: stopFirst ? "stop-first" : "start-first",
  };
}

/** Pure: the full `ServiceSpec` body for services/create and services/update. */
export function planSwarmService(spec: ServiceSpec, release: Release, policy: RolloutPolicy, o: SwarmPlanOptions): Record<string, unknown> {
  const limits = effectiveInstanceLimits(spec.limits);
  const env = engineEnv(spec, release);
  const labels = {
    [L.ns]: o.namespace,
    [L.role]: "service",
    [L.project]: spec.ref.project,
    [L.environment]: spec.ref.environment,
    [L.service]: spec.ref.service,
    [L.spec]: JSON.stringify(spec),
    [L.specHash]: specHash(spec),
    [L.releaseId]: release.id,
    [L.releaseNumber]: String(release.number),
  };
  const update = updateConfig(spec, policy);
  return {
    Name: swarmServiceName(o.namespace, spec.ref),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: o.image,
        Command: taskCommand(o.drainMs),
        Env: [...Object.entries(env).map(([k, v]) => `${k}=${v}`), `BERTH_START=${spec.start}`],
        Dir: "/app",
        User: "65534:65534",
        Init: true,
        Labels: { [L.ns]: o.namespace, [L.generation]: generationOf(spec, release), [L.releaseNumber]: String(release.number), [L.releaseId]: release.id },
        StopGracePeriod: ms(o.drainMs + spec.shutdownDelayMs),
        Healthcheck: healthCheck(spec, o.minHealthIntervalMs),
        Secrets: [{ SecretID: o.secret.id, SecretName: o.secret.name, File: { Name: "berth-env", UID: "65534", GID: "65534", Mode: 0o400 } }],
      },
      Resources: {
        Limits: { MemoryBytes: limits.memoryBytes, Pids: limits.pids, ...(limits.cpuMillicores ? { NanoCPUs: limits.cpuMillicores * 1e6 } : {}) },
      },
      RestartPolicy: restartPolicy(spec, o.restartDelayMs),
      Placement: { Preferences: [{ Spread: { SpreadDescriptor: "node.id" } }] },
      Networks: [swarmNetworkAttachment(spec.ref)],
    },
    Mode: { Replicated: { Replicas: spec.singleton ? 1 : spec.replicas } },
    UpdateConfig: update,
    RollbackConfig: { ...update, FailureAction: "pause" },
    EndpointSpec: {
      Mode: "dnsrr",
      Ports: spec.listens ? [{ Protocol: "tcp", TargetPort: DEFAULT_INTERNAL_PORT, PublishMode: "host" }] : [],
    },
  };
}
