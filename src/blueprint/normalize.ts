/**
 * Stage 3: the schema-checked document -> the normalized `Blueprint`. Applies defaults, turns
 * durations/sizes/percentages into numbers with units in their names, resolves env sources.
 */
import type { HealthSpec, RestartPolicy } from "../engine/engine.ts";
import type { Reporter } from "./diagnostics.ts";
import { normalizeAlerts } from "./alerts.ts";
import { normalizeDrains } from "./drains.ts";
import { type NameIndex, normalizeEnv } from "./envsources.ts";
import { durationMs, percent, sizeBytes } from "./schema/fields.ts";
import type { RawBlueprint, RawService } from "./schema/root.ts";
import type { Blueprint, BuildInfo, Database, Environment, KeyValue, Limits, PreviewData, RunningFields, ScrubStep, Service } from "./types.ts";

const ms = (v: string | number | undefined, fallback: number): number => (v === undefined ? fallback : (durationMs(v) ?? fallback));

/** Backup schedule words -> cron expressions (UTC). */
const BACKUP_SCHEDULES: Record<string, string> = { hourly: "0 * * * *", daily: "0 3 * * *", weekly: "0 3 * * 0" };

export const DEFAULT_HEALTH: HealthSpec = { intervalMs: 1_000, timeoutMs: 5_000, unhealthyThreshold: 3, healthyThreshold: 1, graceMs: 5_000, deployTimeoutMs: 60_000 };

export function buildIndex(raw: RawBlueprint): NameIndex {
  const groups = new Map<string, Set<string>>();
  for (const [name, vars] of Object.entries(raw.envGroups ?? {})) groups.set(name, new Set(Object.keys(vars)));
  return {
    services: new Set(Object.keys(raw.services ?? {})),
    databases: new Set(Object.keys(raw.databases ?? {})),
    keyValues: new Set(Object.keys(raw.keyValues ?? {})),
    groups,
  };
}

/** Normalizes a schema-valid document. Reports reference problems; never throws for bad input. */
export function normalize(raw: RawBlueprint, out: Reporter): Blueprint {
  const idx = buildIndex(raw);
  const referencedPooled = new Set<string>();
  const services = Object.entries(raw.services ?? {}).map(([name, svc]) => normalizeService(name, svc, idx, out));
  for (const s of services) {
    for (const src of [...Object.values(s.env), ...Object.values(s.preview.env)]) {
      if (src.kind === "fromDatabase" && src.property === "pooledConnectionString") referencedPooled.add(src.name);
      if (src.kind === "interpolated") for (const p of src.parts) if (p.kind === "ref" && p.property === "pooledConnectionString") referencedPooled.add(p.name);
    }
  }
  const databases: Database[] = Object.entries(raw.databases ?? {}).map(([name, db]) => {
    const databaseName = db.databaseName ?? name.replace(/-/g, "_");
    const backups = db.backups === false ? undefined : {
      schedule: BACKUP_SCHEDULES[db.backups?.schedule ?? "daily"] ?? db.backups?.schedule ?? BACKUP_SCHEDULES.daily!,
      keep: { daily: db.backups?.keep?.daily ?? 7, weekly: db.backups?.keep?.weekly ?? 4, monthly: db.backups?.keep?.monthly ?? 0 },
    };
    return {
      name,
      kind: "postgres",
      version: Number(db.postgres ?? 16),
      databaseName,
      user: db.user ?? databaseName,
      ...(backups ? { backups } : {}),
      ...(db.pitr === false ? {} : { pitrWindowMs: ms(db.pitr, 7 * 86_400_000) }),
      pooled: db.pooled ?? referencedPooled.has(name),
      ...(db.disk !== undefined ? { diskBytes: sizeBytes(db.disk)! } : {}),
      ...(db.allowFrom ? { allowFrom: db.allowFrom } : {}),
    };
  });
  const keyValues: KeyValue[] = Object.entries(raw.keyValues ?? {}).map(([name, kv]) => ({
    name,
    kind: "redis",
    version: Math.trunc(Number(kv.redis ?? 7)),
    ...(kv.maxmemory !== undefined ? { maxmemoryBytes: sizeBytes(kv.maxmemory)! } : {}),
    eviction: kv.eviction ?? "noeviction",
    persistence: kv.persistence ?? "rdb",
    ...(kv.allowFrom ? { allowFrom: kv.allowFrom } : {}),
  }));
  const envGroups = Object.entries(raw.envGroups ?? {}).map(([name, vars]) => ({ name, env: normalizeEnv(vars, ["envGroups", name], idx, out) }));
  const environments: Environment[] = Object.entries(raw.environments ?? { production: { branch: "main" } }).map(([name, e]) => ({
    name,
    ...(e.branch !== undefined ? { branch: e.branch } : {}),
    autoDeploy: e.autoDeploy ?? true,
    approvalRequired: e.approval === true || e.approval === "required",
    ...(e.engine !== undefined ? { engine: e.engine } : {}),
  }));
  const previews = {
    mode: raw.previews?.mode ?? "off",
    ...(raw.previews?.expireAfterDays !== undefined ? { expireAfterDays: raw.previews.expireAfterDays } : {}),
    ...(raw.previews?.baseEnvironment !== undefined ? { baseEnvironment: raw.previews.baseEnvironment } : {}),
    maxPreviews: raw.previews?.maxPreviews ?? DEFAULT_MAX_PREVIEWS,
    branches: raw.previews?.branches ?? [],
    data: previewData(raw, databases[0]?.name ?? "", out),
    envGroups: raw.previews?.envGroups ?? [],
    sleepAfterMs: raw.previews?.sleepAfter === false ? null : ms(raw.previews?.sleepAfter, DEFAULT_PREVIEW_SLEEP_MS),
  } as const;
  const alerts = normalizeAlerts(raw, out);
  const logDrains = normalizeDrains(raw, out);
  const observe = { ...(alerts ? { alerts } : {}), ...(logDrains ? { logDrains } : {}) };
  return { version: 1, project: raw.project, engine: raw.engine ?? "local", services, databases, keyValues, envGroups, environments, previews, ...observe, source: raw as Record<string, unknown> };
}

function limitsOf(raw: { memory?: string | number; cpu?: string | number; pids?: number } | undefined): Limits {
  if (!raw) return {};
  const cpu = raw.cpu === undefined ? undefined : typeof raw.cpu === "number" ? Math.round(raw.cpu * 1000) : Number.parseInt(raw.cpu, 10);
  return {
    ...(raw.memory !== undefined ? { memoryBytes: sizeBytes(raw.memory)! } : {}),
    ...(cpu !== undefined ? { cpuMillicores: cpu } : {}),
    ...(raw.pids !== undefined ? { pids: raw.pids } : {}),
  };
}

function normalizeService(name: string, svc: RawService, idx: NameIndex, out: Reporter): Service {
  const path = ["services", name];
  const b = svc.build;
  const build: BuildInfo = {
    ...(svc.runtime ? { runtime: svc.runtime } : svc.type === "static" ? { runtime: "static" as const } : {}),
    ...(svc.nodeVersion ? { nodeVersion: svc.nodeVersion } : {}),
    ...(svc.pythonVersion ? { pythonVersion: svc.pythonVersion } : {}),
    rootDir: svc.rootDir ?? ".",
    ...(typeof b === "string" ? { command: b } : b?.command ? { command: b.command } : {}),
    paths: typeof b === "object" ? (b.paths ?? []) : [],
    ignoredPaths: typeof b === "object" ? (b.ignoredPaths ?? []) : [],
    ...(typeof b === "object" && b.limits ? { limits: limitsOf(b.limits) } : {}),
    ...(typeof b === "object" && b.timeout !== undefined ? { timeoutMs: ms(b.timeout, 15 * 60_000) } : {}),
  };
  const env = normalizeEnv(svc.env, [...path, "env"], idx, out);
  const preview = {
    replicas: svc.preview?.replicas ?? 1,
    ...(svc.preview?.limits ? { limits: limitsOf(svc.preview.limits) } : {}),
    env: normalizeEnv(svc.preview?.env, [...path, "preview", "env"], idx, out),
  };
  const base = { name, build, env, envGroups: svc.envGroups ?? [], preview };
  switch (svc.type) {
    case "cron": {
      const r = svc.retries;
      const retries = typeof r === "number" ? { max: r } : (r ?? { max: 0 });
      return {
        ...base,
        type: "cron",
        schedule: svc.schedule ?? "",
        command: svc.command ?? "",
        timezone: svc.timezone ?? "UTC",
        concurrency: svc.concurrency ?? "forbid",
        maxConcurrent: svc.concurrency === "allow" ? (svc.maxConcurrent ?? 1) : 1,
        timeoutMs: ms(svc.timeout, 3_600_000),
        retries: {
          max: retries.max,
          backoffMs: ms("backoff" in retries ? retries.backoff : undefined, 30_000),
          maxBackoffMs: ms("maxBackoff" in retries ? retries.maxBackoff : undefined, 600_000),
          factor: ("factor" in retries ? retries.factor : undefined) ?? 2,
        },
        missedRuns: svc.missedRuns ?? "skip",
        limits: limitsOf(svc.limits),
      };
    }
    case "static":
      return {
        ...base,
        type: "static",
        publishDir: svc.publishDir ?? "dist",
        spa: svc.spa ?? false,
        headers: svc.headers ?? [],
        redirects: (svc.redirects ?? []).map((r) => ({ from: r.from, to: r.to, status: r.status ?? 301 })),
        rewrites: svc.rewrites ?? [],
        replicas: svc.replicas ?? 1,
        health: { ...DEFAULT_HEALTH, path: "/" },
        domains: (svc.domains ?? []).map((d) => d.toLowerCase()),
        routes: (svc.routes ?? []).map((r) => ({ path: r.path, ...(r.domain ? { domain: r.domain.toLowerCase() } : {}), stripPrefix: r.stripPrefix ?? false })),
        ...(svc.sleepAfter !== undefined ? { sleepAfterMs: ms(svc.sleepAfter, 0) } : {}),
      };
    case "web":
      return {
        ...base,
        ...running(svc),
        type: "web",
        ...(svc.port !== undefined ? { port: svc.port } : {}),
        domains: (svc.domains ?? []).map((d) => d.toLowerCase()),
        routes: (svc.routes ?? []).map((r) => ({ path: r.path, ...(r.domain ? { domain: r.domain.toLowerCase() } : {}), stripPrefix: r.stripPrefix ?? false })),
        ...(svc.sleepAfter !== undefined ? { sleepAfterMs: ms(svc.sleepAfter, 0) } : {}),
      };
    case "private":
      return { ...base, ...running(svc), type: "private", ...(svc.port !== undefined ? { port: svc.port } : {}), ...(svc.protocol === "tcp" ? { protocol: "tcp" as const } : {}) };
    case "worker":
      return { ...base, ...running(svc), type: "worker" };
  }
}

type RunningRaw = Extract<RawService, { type: "web" | "private" | "worker" }>;

function running(svc: RunningRaw): RunningFields {
  const h = svc.health;
  const hp = typeof h === "string" ? { path: h } : (h ?? {});
  const get = <K extends string>(k: K): string | number | undefined => (hp as Record<string, string | number | undefined>)[k];
  const health: HealthSpec = {
    ...(typeof (hp as { path?: string }).path === "string" ? { path: (hp as { path: string }).path } : {}),
    intervalMs: ms(get("interval"), DEFAULT_HEALTH.intervalMs),
    timeoutMs: ms(get("timeout"), DEFAULT_HEALTH.timeoutMs),
    unhealthyThreshold: (get("unhealthyThreshold") as number | undefined) ?? DEFAULT_HEALTH.unhealthyThreshold,
    healthyThreshold: (get("healthyThreshold") as number | undefined) ?? DEFAULT_HEALTH.healthyThreshold,
    graceMs: ms(get("grace"), DEFAULT_HEALTH.graceMs),
    deployTimeoutMs: ms(get("deployTimeout"), DEFAULT_HEALTH.deployTimeoutMs),
  };
  const r = svc.restart;
  const policy = typeof r === "string" ? r : (r?.policy ?? "always");
  const restart: RestartPolicy = policy === "on-failure" ? { policy, maxRetries: (typeof r === "object" ? r.maxRetries : undefined) ?? 10 } : { policy };
  const sc = svc.scaling;
  const scaling = sc
    ? {
        min: sc.min,
        max: sc.max,
        ...(sc.cpu !== undefined ? { targetCpuPercent: percent(sc.cpu)! } : {}),
        ...(sc.memory !== undefined ? { targetMemoryPercent: percent(sc.memory)! } : {}),
        ...(sc.queue ? { queue: sc.queue } : {}),
        ...(sc.p95 !== undefined ? { targetP95Ms: ms(sc.p95, 0) } : {}),
        ...(sc.stabilizationWindow !== undefined ? { stabilizationWindowMs: ms(sc.stabilizationWindow, 0) } : {}),
        ...(sc.cooldown !== undefined ? { cooldownMs: ms(sc.cooldown, 0) } : {}),
      }
    : undefined;
  const singleton = svc.singleton ?? false;
  return {
    ...(svc.start !== undefined ? { start: svc.start } : {}),
    ...(svc.preDeploy !== undefined ? { preDeploy: svc.preDeploy } : {}),
    ...(svc.initialDeploy !== undefined ? { initialDeploy: svc.initialDeploy } : {}),
    replicas: singleton ? 1 : (svc.replicas ?? (scaling ? Math.max(1, scaling.min) : 1)),
    ...(scaling ? { scaling } : {}),
    singleton,
    health,
    restart,
    shutdownDelayMs: ms(svc.shutdownDelay, 30_000),
    limits: limitsOf(svc.limits),
    disks: (svc.disks ?? []).map((d) => ({ name: d.name, mountPath: d.mountPath, sizeBytes: d.size !== undefined ? sizeBytes(d.size)! : 1024 ** 3 })),
  };
}

/** Issue 19: idle time after which preview web/static services sleep unless `previews.sleepAfter` says otherwise. */
export const DEFAULT_PREVIEW_SLEEP_MS = 30 * 60_000;

/** Previews a project runs at once unless `previews.maxPreviews` says otherwise. */
export const DEFAULT_MAX_PREVIEWS = 5;

/** `previews.data` as the previews runner reads it; problems of shape are reported with their path. */
function previewData(raw: RawBlueprint, firstDatabase: string, out: Reporter): PreviewData {
  const d = raw.previews?.data;
  const mode = d?.mode ?? "empty";
  if (mode !== "fork") return { mode };
  const from = d?.from ?? raw.previews?.baseEnvironment ?? "";
  const s = d?.scrub;
  if (!s) return { mode, from };
  const path = ["previews", "data", "scrub"];
  if ((s.sql === undefined) === (s.command === undefined)) {
    out.error("BERTH_BLUEPRINT_BAD_VALUE", { field: "previews.data.scrub", detail: s.sql === undefined ? "names neither `sql` nor `command`" : "names both `sql` and `command`", suggestion: "Write exactly one: `sql: UPDATE users SET email = ...` or `command: [node, scripts/scrub.js]`." }, path);
    return { mode, from };
  }
  let timeoutMs = 5 * 60_000;
  if (s.timeout !== undefined) {
    const ms = durationMs(s.timeout);
    if (ms === undefined || ms <= 0) out.error("BERTH_BLUEPRINT_BAD_VALUE", { field: "previews.data.scrub.timeout", detail: `'${s.timeout}' is not a duration`, suggestion: "Write a duration such as `90s` or `10m`." }, [...path, "timeout"]);
    else timeoutMs = ms;
  }
  const database = s.database ?? firstDatabase;
  const scrub: ScrubStep = s.sql !== undefined ? { kind: "sql", database, sql: s.sql, timeoutMs } : { kind: "command", database, argv: s.command!, timeoutMs };
  return { mode, from, scrub };
}
