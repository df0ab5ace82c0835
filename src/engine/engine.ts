/**
 * The Engine seam: where instances run. Service-level, not instance-level — the engine owns the
 * rollout mechanics the way it does them best, and the deploy pipeline hands it a health gate and
 * a traffic port (implemented by the router) so no engine imports the router.
 *
 * Implementations: `local/` (supervised processes), `memory/` (in-memory fake for pipeline
 * tests), `swarm/` (Docker Swarm services through the Engine API). Every one passes the shared suite in `contract/`. Nothing outside
 * `engine/` branches on which engine is in use.
 */
import type { EventSink } from "../core/events.ts";

/** Identifies a service across projects and environments. */
export interface ServiceRef {
  readonly project: string;
  readonly environment: string;
  readonly service: string;
}

/** Private networking (issue 22; names and hosts file in network.ts): HTTP (per-request balancing) or plain TCP. */
export type InternalProtocol = "http" | "tcp";

/** One service's internal address. `address` is the engine-local IP the names resolve to. */
export interface InternalEntry {
  readonly service: string;
  readonly names: readonly string[];
  readonly address: string;
  readonly port: number;
  readonly protocol: InternalProtocol;
}

/** The private network of one environment, as the engines need it. */
export interface EnvironmentNetwork {
  readonly env: EnvironmentRef;
  readonly entries: readonly InternalEntry[];
}

export interface EnvironmentRef {
  readonly project: string;
  readonly environment: string;
}

export type ServiceKind = "web" | "private" | "worker" | "static" | "cron";

export type RestartPolicy =
  | { readonly policy: "always" }
  | { readonly policy: "on-failure"; readonly maxRetries: number }
  | { readonly policy: "never" };

/** Health checking as the engine and the gate need it. All durations in ms. */
export interface HealthSpec {
  /** HTTP path probed on the instance's port; absent for services without a port (workers). */
  readonly path?: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Consecutive failures before an instance is unhealthy. */
  readonly unhealthyThreshold: number;
  /** Consecutive successes before an instance is healthy. */
  readonly healthyThreshold: number;
  /** Time after start during which failures do not count (workers: must stay alive this long). */
  readonly graceMs: number;
  /** How long a deploy waits for new instances to become healthy. */
  readonly deployTimeoutMs: number;
}

export interface DiskSpec {
  readonly name: string;
  readonly mountPath: string;
  readonly sizeBytes?: number;
}

/** Everything an engine needs to run a service; resolved from the blueprint, no secrets in it. */
export interface ServiceSpec {
  readonly ref: ServiceRef;
  readonly kind: ServiceKind;
  /** Desired running instances; a singleton always has exactly 1. */
  readonly replicas: number;
  readonly singleton: boolean;
  /** The user's start command line, run by `/bin/sh -c` inside the release directory. */
  readonly start: string;
  /** True when the instance listens on `$PORT` (web, private, static). */
  readonly listens: boolean;
  readonly health: HealthSpec;
  readonly restart: RestartPolicy;
  /** SIGTERM -> SIGKILL delay on stop. */
  readonly shutdownDelayMs: number;
  /**
   * Limits per instance. Absent fields get the engine's defaults (docs/design/security.md):
   * every instance has a memory and a process limit whether the blueprint names one or not.
   */
  readonly limits: { readonly memoryBytes?: number; readonly cpuMillicores?: number; readonly pids?: number };
  readonly disks: readonly DiskSpec[];
}

/**
 * The toolchain a build resolved for its service (issue 14): the running instances, preDeploy
 * and cron tasks use the same Node / Python the build used. Recorded with the release.
 */
export interface ArtifactRuntime {
  /** What was resolved, for the release record and the build log: `{ node: "20.20.2", packageManager: "pnpm@10.34.9" }`. */
  readonly resolved: Readonly<Record<string, string>>;
  /** Absolute directories put first on PATH, in order (the toolchain's bin, the virtualenv's bin). */
  readonly path: readonly string[];
  /** Variables the runtime needs (VIRTUAL_ENV); the service's own variables win over them. */
  readonly env: Readonly<Record<string, string>>;
  /** Host directories a sandboxed instance must see read-only (the tool cache entries). */
  readonly readOnlyPaths: readonly string[];
}

/** Built output of a service: a directory on the local engine, an image on Swarm. */
export type Artifact =
  | { readonly kind: "dir"; readonly path: string; readonly digest: string; readonly runtime?: ArtifactRuntime }
  | { readonly kind: "image"; readonly image: string; readonly digest: string };

/** Immutable, numbered per service. The env is sealed; engines open it only to start an instance. */
export interface Release {
  readonly id: string;
  readonly number: number;
  readonly service: ServiceRef;
  readonly artifact: Artifact;
  /** Opaque sealed env snapshot; only the injected `EnvOpener` can read it. */
  readonly sealedEnv: string;
}

/** Decrypts a release's env at the moment an instance or task starts. Throws if any value fails. */
export type EnvOpener = (release: Release) => Promise<Readonly<Record<string, string>>>;

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export type InstanceState = "starting" | "healthy" | "unhealthy" | "draining" | "exited" | "crash-looping";

export interface ActualInstance {
  readonly id: string;
  readonly releaseId: string;
  readonly releaseNumber: number;
  readonly state: InstanceState;
  readonly pid?: number;
  readonly endpoint?: Endpoint;
  /** Where it runs, on engines with more than one machine (Swarm: the node's hostname); absent on `local`. */
  readonly node?: string;
  readonly restarts: number;
  readonly startedAt: string;
  readonly lastExit?: { readonly code: number | null; readonly signal: string | null; readonly oom: boolean; readonly at: string };
}

export interface ActualService {
  readonly ref: ServiceRef;
  readonly spec: ServiceSpec;
  /** The release the service is settled on (the latest successfully applied). */
  readonly releaseId: string;
  readonly instances: readonly ActualInstance[];
}

export type RolloutPolicy =
  /** Start new instances, gate, switch, drain old: zero downtime. Default for services with a port. */
  | { readonly kind: "start-first"; readonly maxSurge: number }
  /** Stop old, then start new: for singletons and services holding a disk. */
  | { readonly kind: "stop-first" };

export interface HealthResult {
  readonly ok: boolean;
  /** The last response or error, shown when a gate fails ("HTTP 500: db down", "ECONNREFUSED"). */
  readonly detail: string;
}

/** Decides when a new instance may take traffic. Implemented by deploy/ (HTTP probe, liveness). */
export interface HealthGate {
  wait(instance: { readonly id: string; readonly endpoint?: Endpoint; readonly alive: () => boolean }, spec: HealthSpec, signal: AbortSignal): Promise<HealthResult>;
}

/** Moves traffic between instances. Implemented by the router through HAProxy's runtime API. */
export interface TrafficPort {
  /** Puts an endpoint into the service's rotation (after it passed the gate). */
  add(service: ServiceRef, instanceId: string, endpoint: Endpoint): Promise<void>;
  /** Takes an endpoint out of rotation, letting in-flight requests finish within `drainMs`. */
  remove(service: ServiceRef, instanceId: string, options: { readonly drainMs: number }): Promise<void>;
}

/** A traffic port for services nobody routes to (workers, or tests). */
export const noTraffic: TrafficPort = { add: async () => {}, remove: async () => {} };

export interface Rollout {
  readonly policy: RolloutPolicy;
  readonly health: HealthGate;
  readonly traffic: TrafficPort;
}

export type RolloutStep = "start" | "health" | "switch" | "drain" | "scale" | "done" | "failed";

/** Progress of `apply`, as it happens. The final event is `done` or `failed`. */
export interface RolloutEvent {
  readonly step: RolloutStep;
  /** On `failed`: the step that failed (`health` for a failed gate, `start` when an instance could not start). */
  readonly failedStep?: RolloutStep;
  readonly instanceId?: string;
  readonly detail: string;
  readonly ms: number;
}

export type TaskKind = "preDeploy" | "initialDeploy" | "cron" | "oneoff";

export interface TaskSpec {
  readonly id: string;
  readonly kind: TaskKind;
  readonly service: ServiceSpec;
  readonly release: Release;
  readonly command: string;
  /** Added to the release env, e.g. BERTH_RUN_ID and BERTH_SCHEDULED_AT. */
  readonly extraEnv: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** Called for every output line, already timestamped by the engine. */
  readonly onLog?: (line: LogLine) => void;
}

export interface TaskResult {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly oom: boolean;
  readonly durationMs: number;
}

export interface LogLine {
  readonly at: string;
  readonly instance: string;
  readonly stream: "stdout" | "stderr";
  readonly line: string;
}

export interface LogSelector {
  readonly service: ServiceRef;
  readonly instance?: string;
  readonly sinceMs?: number;
  readonly grep?: string;
  readonly follow?: boolean;
  /** Ends a follow. */
  readonly signal?: AbortSignal;
}

export interface InstanceStats {
  readonly cpuPercent: number;
  readonly rssBytes: number;
  readonly uptimeMs: number;
}

export interface Engine {
  readonly name: string;
  /** Rediscovers and adopts what is already running (after a daemon restart). */
  start(): Promise<void>;
  /** Stops supervising. `graceful: false` leaves instances running for the next daemon to adopt. */
  stop(options: { readonly stopInstances: boolean }): Promise<void>;
  /**
   * Brings the service to `spec` running `release`. Idempotent: applying what already runs yields
   * `done` at once; a changed replica count only scales. On failure the new instances are stopped
   * and the previous release keeps serving; the last event is `failed` with the reason.
   */
  apply(spec: ServiceSpec, release: Release, rollout: Rollout, signal: AbortSignal): AsyncIterable<RolloutEvent>;
  runTask(spec: TaskSpec, signal: AbortSignal): Promise<TaskResult>;
  actual(env: EnvironmentRef): Promise<readonly ActualService[]>;
  logs(selector: LogSelector): AsyncIterable<LogLine>;
  stats(service: ServiceRef, instanceId: string): Promise<InstanceStats | undefined>;
  /** Stops every instance of the service (gracefully) and forgets it; disks are kept. */
  remove(service: ServiceRef, signal: AbortSignal): Promise<void>;
  /**
   * Makes the environment's internal names resolve for its instances and tasks (issue 22): the
   * local engine rewrites the hosts file bound into their sandboxes (running ones see the change
   * at once), Swarm sets network aliases. Idempotent; called before every rollout.
   */
  setNetwork(network: EnvironmentNetwork): Promise<void>;
}

/** What engines are constructed with. */
export interface EngineDeps {
  readonly events: EventSink;
  readonly openEnv: EnvOpener;
  /** Masks secret values in a log line before an engine writes it anywhere (issue 9). */
  readonly redact?: (text: string) => string;
}

export function serviceKey(ref: ServiceRef): string {
  return `${ref.project}/${ref.environment}/${ref.service}`;
}

/** JSON with object keys sorted, so equal values give equal text whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/**
 * Whether two specs are the same, by value. Specs round-trip through JSON files and schemas that
 * reorder keys (an engine's records, the store), so text comparison would call an adopted
 * service "changed" after every daemon restart and replace all its instances.
 */
export function sameSpec(a: ServiceSpec, b: ServiceSpec, options: { readonly ignoreReplicas?: boolean } = {}): boolean {
  if (a === b) return true;
  // Fast path: the same key order (most comparisons) needs no canonical form.
  if (!options.ignoreReplicas && JSON.stringify(a) === JSON.stringify(b)) return true;
  return options.ignoreReplicas ? canonical({ ...a, replicas: 0 }) === canonical({ ...b, replicas: 0 }) : canonical(a) === canonical(b);
}
