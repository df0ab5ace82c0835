/**
 * Maps a resolved blueprint onto desired state: for each service, the spec an engine runs and
 * the inputs a release is cut from. Pure apart from hashing the source tree the caller names.
 */
import { join } from "node:path";
import type { Blueprint, Service } from "../blueprint/types.ts";
import type { HealthSpec, ServiceRef, ServiceSpec } from "../engine/engine.ts";
import { type ReleaseInputs, type RuntimeVersions, type SourceRef, inputsDigest } from "./inputs.ts";

export interface DesiredOptions {
  readonly project: string;
  readonly environment: string;
  /** The command line that serves a static site: node + Berth's static server script. */
  readonly staticServer: readonly string[];
  /** Revision of a service's source (content digest of its rootDir, or a git commit). */
  readonly revisionOf: (service: Service) => SourceRef;
  /** Changes when secrets or env groups change, so a change rolls the affected services. */
  readonly envVersion: string;
}

export interface DesiredService {
  readonly spec: ServiceSpec;
  readonly inputs: ReleaseInputs;
  readonly inputsDigest: string;
  /** Issue 19: idle time after which it sleeps (null: never). Not part of the digest: changing it restarts nothing. */
  readonly sleepAfterMs: number | null;
}

const STATIC_HEALTH: HealthSpec = {
  path: "/",
  intervalMs: 5000,
  timeoutMs: 5000,
  unhealthyThreshold: 3,
  healthyThreshold: 1,
  graceMs: 0,
  deployTimeoutMs: 60_000,
};

const NO_HEALTH: HealthSpec = { intervalMs: 10_000, timeoutMs: 5000, unhealthyThreshold: 3, healthyThreshold: 1, graceMs: 0, deployTimeoutMs: 60_000 };

/** Quotes one argument for `/bin/sh -c`: single quotes, embedded ones escaped. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

function specOf(s: Service, ref: ServiceRef, staticServer: readonly string[]): ServiceSpec {
  switch (s.type) {
    case "web":
    case "private":
    case "worker":
      return {
        ref,
        kind: s.type,
        replicas: s.singleton ? 1 : s.replicas,
        singleton: s.singleton,
        start: s.start ?? "npm start",
        listens: s.type !== "worker",
        health: s.type === "worker" ? { ...s.health, path: undefined } : s.health,
        restart: s.restart,
        shutdownDelayMs: s.shutdownDelayMs,
        limits: s.limits,
        disks: s.disks,
      } as ServiceSpec;
    case "static":
      return {
        ref,
        kind: "static",
        replicas: s.replicas,
        singleton: false,
        start: [...staticServer, "--root", s.publishDir, "--config-file", ".berth-static.json"].map(shellQuote).join(" "),
        listens: true,
        health: STATIC_HEALTH,
        restart: { policy: "always" },
        shutdownDelayMs: 5000,
        limits: {},
        disks: [],
      };
    case "cron":
      // Cron jobs have no long-lived instances: the scheduler runs each slot as a task.
      return {
        ref,
        kind: "cron",
        replicas: 0,
        singleton: false,
        start: s.command,
        listens: false,
        health: NO_HEALTH,
        restart: { policy: "never" },
        shutdownDelayMs: 30_000,
        limits: s.limits,
        disks: [],
      };
  }
}

function extraOf(s: Service): unknown {
  switch (s.type) {
    case "static":
      return {
        // What the static server reads (written next to the published files by the build).
        site: {
          spa: s.spa,
          headers: s.headers,
          routes: [
            ...s.redirects.map((r) => ({ type: "redirect", source: r.from, destination: r.to, status: r.status })),
            ...s.rewrites.map((r) => ({ type: "rewrite", source: r.from, destination: r.to })),
          ],
        },
        domains: s.domains,
        routes: s.routes,
      };
    case "web":
      return { domains: s.domains, routes: s.routes, port: s.port ?? null };
    case "private":
      // `protocol` only when tcp: digests of existing private services stay what they were.
      return { port: s.port ?? null, ...(s.protocol === "tcp" ? { protocol: "tcp" } : {}) };
    case "cron":
      return {
        schedule: s.schedule,
        timezone: s.timezone,
        concurrency: s.concurrency,
        maxConcurrent: s.maxConcurrent,
        timeoutMs: s.timeoutMs,
        retries: s.retries,
        missedRuns: s.missedRuns,
      };
    default:
      return null;
  }
}

/**
 * Runtime versions the blueprint asks for: the `nodeVersion`/`pythonVersion` fields and plain
 * NODE_VERSION/PYTHON_VERSION variables (as Render reads them). Part of the build digest, so a
 * changed pin rebuilds. Variables from secrets or env groups are not build settings.
 */
function versionsOf(s: Service): { versions?: RuntimeVersions } {
  const literal = (name: string) => {
    const v = s.env[name];
    return v?.kind === "literal" && v.value.trim() ? v.value.trim() : undefined;
  };
  const all: Record<string, string | undefined> = {
    nodeVersion: s.build.nodeVersion,
    nodeVersionEnv: literal("NODE_VERSION"),
    pythonVersion: s.build.pythonVersion,
    pythonVersionEnv: literal("PYTHON_VERSION"),
  };
  const set = Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as RuntimeVersions;
  return Object.keys(set).length ? { versions: set } : {};
}

/** The desired services of one environment of a resolved blueprint. */
export function desiredServices(bp: Blueprint, opts: DesiredOptions): DesiredService[] {
  return bp.services.map((s) => {
    const ref: ServiceRef = { project: opts.project, environment: opts.environment, service: s.name };
    const spec = specOf(s, ref, opts.staticServer);
    const running = s.type === "web" || s.type === "private" || s.type === "worker";
    const inputs: ReleaseInputs = {
      source: opts.revisionOf(s),
      rootDir: s.build.rootDir,
      runtime: s.build.runtime ?? (s.type === "static" ? "static" : "auto"),
      buildCommand: s.build.command ?? null,
      preDeploy: running ? (s.preDeploy ?? null) : null,
      initialDeploy: running ? (s.initialDeploy ?? null) : null,
      publishDir: s.type === "static" ? s.publishDir : null,
      env: { vars: s.env, groups: s.envGroups },
      extra: extraOf(s),
      ...versionsOf(s),
      // Only when set, so digests of services without them stay what they were.
      ...(s.build.limits || s.build.timeoutMs !== undefined ? { buildLimits: { ...s.build.limits, ...(s.build.timeoutMs !== undefined ? { timeoutMs: s.build.timeoutMs } : {}) } } : {}),
    };
    // Issue 19: only routed services can be woken by a request; a singleton never sleeps (it runs exactly one).
    const sleepAfterMs = (s.type === "web" && !s.singleton) || s.type === "static" ? (s.sleepAfterMs ?? null) : null;
    return { spec, inputs, inputsDigest: inputsDigest(inputs, spec, opts.envVersion), sleepAfterMs };
  });
}

/** Where a service's files are inside a directory source. */
export function serviceDir(sourceDir: string, s: Service): string {
  return join(sourceDir, s.build.rootDir);
}
