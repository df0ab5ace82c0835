/**
 * The normalized blueprint: defaults applied, aliases resolved, durations and sizes as numbers
 * with units in their names. Plain data (JSON-serializable), so the store can keep it as is.
 */
import type { DiskSpec, HealthSpec, RestartPolicy } from "../engine/engine.ts";

/** A reference to a property of a service, database or key-value store. */
export type RefTarget = "service" | "database" | "keyValue";

/** One piece of an interpolated string. */
export type TemplatePart =
  | { readonly kind: "text"; readonly text: string }
  /** `${VAR}`: another variable of the same service (or its env groups). */
  | { readonly kind: "var"; readonly key: string }
  /** `${name.property}`: a property of a service, database or key-value store. */
  | { readonly kind: "ref"; readonly target: RefTarget; readonly name: string; readonly property: string };

/** Where an environment variable's value comes from. */
export type EnvSource =
  | { readonly kind: "literal"; readonly value: string }
  | { readonly kind: "generate"; readonly encoding: "secret" | "hex" | "base64" | "uuid"; readonly lengthBytes: number }
  /** Set later through `berth secret set`; a deploy refuses to start while it is missing. */
  | { readonly kind: "secret"; readonly description?: string }
  | { readonly kind: "fromDatabase"; readonly name: string; readonly property: string }
  | { readonly kind: "fromKeyValue"; readonly name: string; readonly property: string }
  | { readonly kind: "fromService"; readonly name: string; readonly property: string }
  | { readonly kind: "fromServiceEnv"; readonly name: string; readonly envVarKey: string }
  | { readonly kind: "fromGroup"; readonly name: string; readonly key: string }
  | { readonly kind: "interpolated"; readonly template: string; readonly parts: readonly TemplatePart[] };

export type EnvMap = Readonly<Record<string, EnvSource>>;

export interface BuildInfo {
  readonly runtime?: "node" | "python" | "static" | "custom";
  /** Node.js version or range asked for by the blueprint (the repository's pins win). */
  readonly nodeVersion?: string;
  readonly pythonVersion?: string;
  readonly rootDir: string;
  readonly command?: string;
  /** Globs (from the repository root) whose changes trigger a build; empty = any change. */
  readonly paths: readonly string[];
  readonly ignoredPaths: readonly string[];
  /** Limits of each build step, when the blueprint raises the defaults (core/limits.ts). */
  readonly limits?: Limits;
  readonly timeoutMs?: number;
}

export interface Limits {
  readonly memoryBytes?: number;
  readonly cpuMillicores?: number;
  /** Most processes and threads at once (cgroup pids.max). */
  readonly pids?: number;
}

export interface Scaling {
  readonly min: number;
  readonly max: number;
  readonly targetCpuPercent?: number;
  readonly targetMemoryPercent?: number;
  readonly queue?: { readonly keyValue: string; readonly key: string; readonly targetPerReplica: number };
  readonly targetP95Ms?: number;
  /** Scale-downs follow the highest recommendation in this window (issue 18). */
  readonly stabilizationWindowMs?: number;
  readonly cooldownMs?: number;
}

export interface Route {
  readonly path: string;
  readonly domain?: string;
  readonly stripPrefix: boolean;
}

export interface PreviewSettings {
  readonly replicas: number;
  readonly limits?: Limits;
  readonly env: EnvMap;
}

interface ServiceBase {
  readonly name: string;
  readonly build: BuildInfo;
  readonly env: EnvMap;
  readonly envGroups: readonly string[];
  readonly preview: PreviewSettings;
}

/** Fields of services that run a long-lived process (web, private, worker). */
export interface RunningFields {
  readonly start?: string;
  readonly preDeploy?: string;
  readonly initialDeploy?: string;
  /** Desired instances; with `scaling` the starting count (scaling.min, at least 1). */
  readonly replicas: number;
  readonly scaling?: Scaling;
  readonly singleton: boolean;
  readonly health: HealthSpec;
  readonly restart: RestartPolicy;
  readonly shutdownDelayMs: number;
  readonly limits: Limits;
  readonly disks: readonly DiskSpec[];
}

export interface WebService extends ServiceBase, RunningFields {
  readonly type: "web";
  readonly port?: number;
  readonly domains: readonly string[];
  readonly routes: readonly Route[];
  /** Issue 19: sleeps after this long without a request; absent: never. */
  readonly sleepAfterMs?: number;
}

export interface PrivateService extends ServiceBase, RunningFields {
  readonly type: "private";
  /** Also the port of its internal address (default 10000). */
  readonly port?: number;
  /** `tcp`: the internal address passes bytes through (issue 22). Absent: http. */
  readonly protocol?: "http" | "tcp";
}

export interface WorkerService extends ServiceBase, RunningFields {
  readonly type: "worker";
}

export interface CronService extends ServiceBase {
  readonly type: "cron";
  readonly schedule: string;
  readonly command: string;
  readonly timezone: string;
  readonly concurrency: "forbid" | "allow" | "replace";
  readonly maxConcurrent: number;
  readonly timeoutMs: number;
  readonly retries: { readonly max: number; readonly backoffMs: number; readonly maxBackoffMs: number; readonly factor: number };
  readonly missedRuns: "skip" | "run-once" | "run-all";
  readonly limits: Limits;
}

export interface StaticService extends ServiceBase {
  readonly type: "static";
  readonly publishDir: string;
  readonly spa: boolean;
  readonly headers: readonly { readonly path: string; readonly name: string; readonly value: string }[];
  readonly redirects: readonly { readonly from: string; readonly to: string; readonly status: 301 | 302 | 307 | 308 }[];
  readonly rewrites: readonly { readonly from: string; readonly to: string }[];
  readonly replicas: number;
  /** Probes of Berth's file server (path `/` by default), so static sites deploy like services. */
  readonly health: HealthSpec;
  readonly domains: readonly string[];
  readonly routes: readonly Route[];
  /** Issue 19: sleeps after this long without a request; absent: never. */
  readonly sleepAfterMs?: number;
}

export type Service = WebService | PrivateService | WorkerService | CronService | StaticService;
export type ServiceType = Service["type"];

export interface Database {
  readonly name: string;
  readonly kind: "postgres";
  readonly version: number;
  readonly databaseName: string;
  readonly user: string;
  /** Absent when backups are off. `schedule` is a cron expression. */
  readonly backups?: { readonly schedule: string; readonly keep: { readonly daily: number; readonly weekly: number; readonly monthly: number } };
  /** Point-in-time recovery window; absent when PITR is off. */
  readonly pitrWindowMs?: number;
  readonly pooled: boolean;
  readonly diskBytes?: number;
  /** Services that may connect; undefined = all. */
  readonly allowFrom?: readonly string[];
}

export interface KeyValue {
  readonly name: string;
  readonly kind: "redis";
  readonly version: number;
  readonly maxmemoryBytes?: number;
  readonly eviction: string;
  readonly persistence: "rdb" | "aof" | "none";
  readonly allowFrom?: readonly string[];
}

export interface EnvGroup {
  readonly name: string;
  readonly env: EnvMap;
}

export interface Environment {
  readonly name: string;
  readonly branch?: string;
  readonly autoDeploy: boolean;
  readonly approvalRequired: boolean;
  /** Issue 20: set when the environment names its own engine (else the blueprint's applies). */
  readonly engine?: EngineKind;
}

/** Issue 20: where an environment's services run. */
export type EngineKind = "local" | "swarm";

/** Issue 19: a step that must succeed on a forked preview's data before it gets traffic. */
export type ScrubStep =
  | { readonly kind: "sql"; readonly database: string; readonly sql: string; readonly timeoutMs: number }
  | { readonly kind: "command"; readonly database: string; readonly argv: readonly string[]; readonly timeoutMs: number };

/** Issue 19: what a preview's databases start with. */
export type PreviewData =
  | { readonly mode: "empty" }
  | { readonly mode: "seed" }
  | { readonly mode: "fork"; readonly from: string; readonly scrub?: ScrubStep };

export interface Previews {
  readonly mode: "off" | "manual" | "automatic";
  readonly expireAfterDays?: number;
  readonly baseEnvironment?: string;
  /** Previews running at once per project (default 5). */
  readonly maxPreviews: number;
  /** Branch globs whose pushes to a served repository open a preview. */
  readonly branches: readonly string[];
  readonly data: PreviewData;
  /** Issue 19: preview web/static services sleep after this idle time (default 30 min); null: never. */
  readonly sleepAfterMs: number | null;
  /** Env groups whose secrets previews receive. */
  readonly envGroups: readonly string[];
}

export interface Blueprint {
  readonly version: 1;
  readonly project: string;
  readonly services: readonly Service[];
  readonly databases: readonly Database[];
  readonly keyValues: readonly KeyValue[];
  readonly envGroups: readonly EnvGroup[];
  readonly environments: readonly Environment[];
  readonly previews: Previews;
  /** Where the services run (issue 20): the blueprint's `engine`, or after `resolveEnvironment` the environment's own. */
  readonly engine: EngineKind;
  /** Set by `resolveEnvironment`: which environment this copy is for. */
  readonly environment?: Environment;
  /** Alert channels and rules (issue 18); absent: the default rules, no channels. */
  readonly alerts?: AlertsConfig;
  /** Log drains of every environment (issue 18). */
  readonly logDrains?: readonly LogDrainConfig[];
  /** The validated source (aliases rewritten), kept so environments can be resolved later. */
  readonly source: Readonly<Record<string, unknown>>;
}

type RawAlerts = import("zod").infer<typeof import("./schema/observe.ts").alerts>;

/**
 * A credential kept in the secret store: variable `key` (declared `{ secret: true }`) of env group
 * `name`, owner `group:<name>`, environment-specific over `*`. Read when it is used, never copied
 * into the blueprint, the store's desired state or any output.
 */
export interface SecretRef {
  readonly kind: "fromGroup";
  readonly name: string;
  readonly key: string;
}

/** An alert channel with its credentials as secret references (issue 18). */
export type AlertChannel =
  | { readonly type: "webhook"; readonly url: string | SecretRef; readonly secret?: SecretRef }
  | { readonly type: "slack"; readonly url: SecretRef }
  | { readonly type: "discord"; readonly url: SecretRef }
  | { readonly type: "pagerduty"; readonly routingKey: SecretRef; readonly url?: string }
  | {
      readonly type: "email";
      readonly to: readonly string[];
      readonly from?: string;
      readonly smtp: { readonly host: string; readonly port?: number; readonly secure?: boolean; readonly user?: string; readonly password?: SecretRef };
    };

/** `alerts:` validated, channel credentials as references; rules are resolved against the defaults by observe/alerts. */
export type AlertsConfig = Omit<RawAlerts, "channels"> & { readonly channels?: Readonly<Record<string, AlertChannel>> };
/** A log drain with its credentials (header values, a token-bearing URL) as secret references (issue 18). */
export type LogDrainConfig =
  | { readonly type: "http" | "otlp"; readonly url: string | SecretRef; readonly headers?: Readonly<Record<string, SecretRef>> }
  | { readonly type: "syslog"; readonly url: string };
