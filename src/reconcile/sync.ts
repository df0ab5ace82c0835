/**
 * The sync entry point: a blueprint (text, as the user wrote it) becomes recorded desired state
 * for one environment, and a reconcile is requested. It never touches processes: the reconciler
 * does that. All-or-nothing: an invalid blueprint records nothing.
 */
import { existsSync, realpathSync } from "node:fs";
import { isAbsolute } from "node:path";
import type { HostPolicy } from "../blueprint/index.ts";
import type { Diagnostic } from "../blueprint/diagnostics.ts";
import type { Blueprint, Service } from "../blueprint/types.ts";
import { directoryDigest } from "../build/source-digest.ts";
import type { Clock } from "../core/clock.ts";
import { yieldToLoop } from "../core/concurrency.ts";
import { BerthError } from "../core/errors.ts";
import { syncJobs } from "../cron/api.ts";
import { cronJobsFromBlueprint } from "../cron/from-blueprint.ts";
import type { EventSink } from "../core/events.ts";
import { inputsDigest, type ReleaseInputs, type SourceRef } from "../deploy/inputs.ts";
import { needsApproval, supersededBy } from "../deploy/approval.ts";
import type { Artifact } from "../engine/engine.ts";
import type { EnvironmentRow } from "../store/repositories/environments.ts";
import type { HeldOrigin, PendingDeployRow } from "../store/repositories/pending-deploys.ts";
import type { Store } from "../store/store.ts";
import type { ProjectQuota } from "../core/limits.ts";
import type { EnvGraphShape } from "./env-version.ts";
import { checkAlertSecrets } from "./alert-secrets.ts";
import { ArrivalOrder } from "./arrival-order.ts";
import { checkQuota, environmentUsage } from "./quota.ts";
import { prepareInWorker } from "./sync-offthread.ts";
import { type PrepareHooks, type PrepareInput, type Prepared, prepareSync } from "./sync-prepare.ts";

export interface SyncRequest {
  /** Overrides the blueprint's `project` name (e.g. `berth up --project`). */
  readonly project?: string;
  readonly environment: string;
  readonly blueprintText: string;
  /** Shown in located errors. */
  readonly file: string;
  /** Absolute path of the project's source directory on the daemon's host. */
  readonly sourceDir: string;
  /** git (issue 5): `sourceDir` is a checkout of this commit; see git-deploy.ts. */
  readonly git?: GitSyncSource;
  /** Retry inputs whose last deploy failed (`berth deploy --retry`); otherwise they wait for a change. */
  readonly retry?: boolean;
  /** Deploy even if the project is deployed from another directory (the project moves here). */
  readonly force?: boolean;
  /**
   * Who asks, when the request comes from a token (issue 17): only a token that may choose host
   * directories (an unscoped owner) sets or changes a project's `sourceDir`; any other token
   * syncs from the directory already recorded. Absent for Berth's own callers (git deploys).
   */
  readonly requester?: {
    readonly token: string;
    readonly mayChooseSource: boolean;
    /** Throws unless the token may act on the project; called before anything is recorded. */
    readonly authorizeProject: (project: string) => void;
  };
  /**
   * Issue 19: where the request comes from, as an approval gate holds and later replays it
   * (default: a sync). A promotion's pins take each promoted service's source and artifact from
   * the other environment's live release; the project keeps its recorded source.
   */
  readonly origin?: HeldOrigin;
  /**
   * Issue 19: this is an approved held deploy being replayed: it is not held again, must deploy
   * the revisions that were requested, and marks the held row approved in the same transaction.
   */
  readonly approval?: { readonly id: string; readonly actor: string; readonly revisions: Readonly<Record<string, string>> };
}

/** git (issue 5): a followed branch's commit; revisions are commits, narrowed by build filters. */
export interface GitSyncSource {
  readonly url: string;
  readonly branch: string;
  /** The project's default branch (kept as its source's ref; environments name their own). */
  readonly defaultBranch: string;
  /** The service's source at this commit; `previous` is what the environment recorded before. */
  readonly revisionOf: (service: Service, previous: SourceRef | undefined) => SourceRef;
}

export interface SyncResult {
  readonly project: string;
  readonly environment: string;
  readonly environmentId: string;
  readonly generation: number;
  readonly services: readonly string[];
  readonly warnings: readonly Diagnostic[];
  /** Issue 19: the environment requires approval: nothing was recorded but this held deploy. */
  readonly pending?: PendingDeployRow;
}

export interface SyncDeps {
  readonly store: Store;
  readonly events: EventSink;
  readonly clock: Clock;
  readonly staticServer: readonly string[];
  readonly requestReconcile: (environmentId: string) => void;
  /**
   * Env version of each service (see env-version.ts): a digest of the secret values its env can
   * read, part of its inputs digest, so a secret change rolls exactly the services it reaches.
   */
  readonly envVersion?: (project: string, environment: string, blueprint: EnvGraphShape) => (service: string) => string;
  /** The ceiling on services per project (BERTH_MAX_SERVICES_PER_PROJECT): beyond it a sync is refused. */
  readonly maxServicesPerProject?: number;
  /** Host rules and quota of a project (issue 17); absent: no host rules, no quota. */
  readonly policy?: (project: string) => { readonly host: HostPolicy; readonly quota: ProjectQuota };
  /** The PostgreSQL major an environment's server runs, once created (issue 14): a blueprint edit never changes it. */
  readonly postgresMajor?: (project: string, environment: string) => number | undefined;
  /**
   * Names of the secret values set for an environment or `*` (`storedKey(owner, name)`), never
   * values: alert channel credentials must be set before a sync is recorded (alert-secrets.ts).
   */
  readonly secretNames?: (projectId: string, environment: string) => ReadonlySet<string>;
  /**
   * Issue 20: why the engine a blueprint names cannot run its environment on this daemon (no
   * swarm manager reachable), or undefined when it can. Absent: every engine is accepted.
   */
  readonly engineProblem?: (engine: string) => Promise<string | undefined>;
}

/** Blueprints longer than this are prepared in a worker thread (a 5,000-service one takes seconds). */
const WORKER_THRESHOLD_CHARS = 64 * 1024;

export function makeSync(deps: SyncDeps): (request: SyncRequest, actor: string) => Promise<SyncResult> {
  const order = new ArrivalOrder();
  return async (request, actor) => {
    if (!isAbsolute(request.sourceDir) || !existsSync(request.sourceDir)) {
      throw new BerthError("BERTH_BAD_REQUEST", { detail: `sourceDir: '${request.sourceDir}' is not an existing absolute directory` });
    }
    const { store, policy } = deps;
    // Syncs of one stack record in the order they arrived, although a large one is prepared
    // off-thread and may finish after a later small one (the newest request wins).
    const turn = order.take(`${request.environment}\0${realDir(request.sourceDir)}`);
    try {
      const max = deps.maxServicesPerProject ?? Number.POSITIVE_INFINITY;
      const others = store.services.countByProjectExcept(request.environment);
      const input: PrepareInput = {
        blueprintText: request.blueprintText,
        file: request.file,
        environment: request.environment,
        sourceDir: request.sourceDir,
        staticServer: deps.staticServer,
        ...(request.project ? { project: request.project } : {}),
        limit: { maxServicesPerProject: max, others },
      };
      // The host's rules depend on the project (ports an owner allowed it), known once parsed.
      const hostPolicy = policy ? (name: string) => policy(request.project ?? name).host : undefined;
      const hooks: PrepareHooks = hostPolicy ? { policy: hostPolicy } : {};
      let prepared: Prepared;
      if (request.git) {
        // git (issue 5): revisions come from the mirror (in-process), narrowed by build filters.
        const git = request.git;
        let previous: Map<string, SourceRef> | undefined;
        const recorded = (project: string) => {
          previous ??= previousSources(store, project, request.environment);
          return previous;
        };
        prepared = prepareSync(input, { ...hooks, revisionOf: (s, project) => git.revisionOf(s, recorded(project).get(s.name)) });
      } else if (request.origin?.via === "promote") {
        // Promotion (issue 19): promoted services take the source environment's source and
        // artifact; the others keep what this environment recorded.
        const { pins } = request.origin;
        let previous: Map<string, SourceRef> | undefined;
        const recorded = (project: string) => (previous ??= previousSources(store, project, request.environment));
        // Services promoted before and not now keep their pin: their inputs stay the same, so
        // promoting one service cuts no new release of the others.
        const env = store.environments.byName(request.project ?? "", request.environment);
        const kept = Object.fromEntries(
          (env ? store.services.list(env.id) : []).flatMap((row) => {
            const p = (row.inputs as Partial<ReleaseInputs> | null)?.promoted;
            return p && !pins[row.name] ? [[row.name, p]] : [];
          }),
        );
        const promoted = { ...kept, ...Object.fromEntries(Object.entries(pins).map(([name, p]) => [name, { environment: p.environment, release: p.release, artifact: p.artifact as unknown as Artifact }])) };
        prepared = prepareSync(input, { ...hooks, promoted, revisionOf: (s, project) => pins[s.name]?.source ?? recorded(project).get(s.name) });
      } else if (request.blueprintText.length > WORKER_THRESHOLD_CHARS) {
        prepared = await prepareInWorker(input, hostPolicy);
      } else {
        prepared = prepareSync(input, hooks);
      }
      return await record(deps, request, actor, prepared, turn.ready);
    } finally {
      turn.done();
    }
  };
}

/** Checks what needs the store, then records the prepared sync (after the syncs that arrived before it). */
async function record(deps: SyncDeps, request: SyncRequest, actor: string, prepared: Prepared, before: Promise<void>): Promise<SyncResult> {
  const { store } = deps;
  const { project, blueprint: bp } = prepared;
  await before;
  // Before anything is recorded: a token scoped to A must not write B's desired state (issue 17).
  request.requester?.authorizeProject(project);
  const promoting = request.origin?.via === "promote";
  // A promotion deploys from the project's recorded source: it names no directory of its own.
  if (!promoting) authorizeSource(store, project, request);
  // A blueprint edit never changes a database server's major: `berth db upgrade` does (issue 14).
  const warnings = [...prepared.warnings, ...checkPostgresMajor(bp, deps.postgresMajor?.(project, request.environment), request)];
  // Alert channel credentials (issue 18): set in the secret store, or the sync is refused.
  if (deps.secretNames) {
    const existing = store.projects.byName(project);
    warnings.push(...checkAlertSecrets(bp, existing ? deps.secretNames(existing.id, request.environment) : undefined, request));
  }
  if (deps.engineProblem) await checkEngine(deps.engineProblem, bp, project, request);
  const quota = deps.policy?.(project).quota;
  if (quota) checkQuota(project, [...otherEnvironmentsUsage(store, project, request.environment), ...environmentUsage(request.environment, bp)], quota);
  if (!request.git && !request.force && !promoting) assertSameDirectory(store, project, request.sourceDir);
  const now = new Date(deps.clock.now()).toISOString();
  // Approval gates (issue 19): a held deploy records nothing but itself; a replayed one must
  // deploy what was requested.
  const recordedEnv = store.environments.byName(project, request.environment);
  if (request.approval) assertSameRevisions(request.approval, prepared);
  else if (needsApproval(recordedEnv ? { approvalRequired: store.environments.approvalRequired(recordedEnv.id) } : undefined, bp.environment ?? { approvalRequired: false })) {
    return hold(deps, request, actor, prepared, recordedEnv, warnings, now);
  }
  const versionOf = deps.envVersion?.(project, request.environment, bp);
  let services = prepared.services;
  if (versionOf) {
    // Digests of thousands of services: computed in slices, the event loop getting turns.
    const out: (typeof services)[number][] = [];
    for (let i = 0; i < services.length; i += 500) {
      if (i > 0) await yieldToLoop();
      for (const s of services.slice(i, i + 500)) out.push({ ...s, inputsDigest: inputsDigest(s.inputs, s.spec, versionOf(s.spec.ref.service)) });
    }
    services = out;
  }
  const env = store.db.tx(() => {
    const existing = promoting ? store.projects.byName(project)?.source : undefined;
    const source = request.git ? { kind: "git" as const, url: request.git.url, ref: request.git.defaultBranch } : (existing ?? { kind: "dir" as const, path: request.sourceDir });
    const p = store.projects.upsert(project, source, now);
    const e = store.environments.record(p.id, request.environment, bp, now);
    store.services.replaceAll(e.id, services, now);
    if (request.retry) for (const s of store.services.list(e.id)) store.services.markFailed(s.id, null, now);
    // cron (issue 8): the environment's cron jobs follow its blueprint, in the same transaction.
    const envRef = { project, environment: request.environment };
    syncJobs(store.db, envRef, cronJobsFromBlueprint(envRef, bp), deps.clock.now());
    // A sync is an explicit request to run: it revives a stopped environment.
    store.environments.setStatus(e.id, "pending", null, now);
    const recorded = store.environments.requireId(e.id);
    // The held row is approved with the desired state it stands for, or not at all.
    if (request.approval && !store.pendingDeploys.decide(request.approval.id, { state: "approved", by: request.approval.actor, generation: recorded.generation }, now)) {
      const row = store.pendingDeploys.byId(request.approval.id);
      throw new BerthError("BERTH_DEPLOY_NOT_PENDING", { id: request.approval.id, environment: `${project}/${request.environment}`, detail: `already ${row?.state ?? "gone"}`, next: "`berth status` shows what runs" });
    }
    return recorded;
  });
  deps.events.emit({
    type: "project:synced",
    scope: { project, environment: request.environment },
    actor,
    data: { project, environment: request.environment, generation: env.generation, services: services.length },
  });
  deps.requestReconcile(env.id);
  return {
    project,
    environment: request.environment,
    environmentId: env.id,
    generation: env.generation,
    services: services.map((s) => s.spec.ref.service),
    warnings,
  };
}

/** Issue 19: records the request as a held deploy (superseding older pending ones) instead of desired state. */
function hold(deps: SyncDeps, request: SyncRequest, actor: string, prepared: Prepared, recordedEnv: EnvironmentRow | undefined, warnings: readonly Diagnostic[], now: string): SyncResult {
  const { store } = deps;
  const { project } = prepared;
  const environment = request.environment;
  const origin: HeldOrigin = request.origin ?? { via: "sync" };
  const revisions = Object.fromEntries(prepared.services.map((s) => [s.spec.ref.service, (s.inputs as ReleaseInputs).source.revision]));
  const supersede = supersededBy(store.pendingDeploys.list({ project, environment, states: ["pending"], limit: 500 }), { project, environment });
  const row = store.pendingDeploys.create(
    {
      project,
      environment,
      summary: summarize(origin, request),
      request: {
        ...(request.project ? { project: request.project } : {}),
        blueprintText: request.blueprintText,
        file: request.file,
        sourceDir: request.sourceDir,
        retry: !!request.retry,
        force: !!request.force,
        origin,
        revisions,
      },
      requestedBy: actor,
      supersede,
    },
    now,
  );
  const scope = { project, environment };
  for (const old of supersede) deps.events.emit({ type: "deploy:superseded", scope, actor, data: { id: old, environment, by: row.id } });
  deps.events.emit({ type: "deploy:pending", scope, actor, data: { id: row.id, environment, via: origin.via, summary: row.summary, supersedes: supersede } });
  return {
    project,
    environment,
    environmentId: recordedEnv?.id ?? "",
    generation: recordedEnv?.generation ?? 0,
    services: prepared.services.map((s) => s.spec.ref.service),
    warnings,
    pending: row,
  };
}

/** One line saying what a held deploy would do. */
function summarize(origin: HeldOrigin, request: SyncRequest): string {
  switch (origin.via) {
    case "sync":
      return `deploy from ${request.sourceDir}`;
    case "push":
      return `push of ${origin.branch}@${origin.commit.slice(0, 12)}`;
    case "promote":
      return `promotion of ${origin.services.join(", ")} from ${origin.from} (${Object.entries(origin.pins).map(([s, p]) => `${s} #${p.release}`).join(", ")})`;
  }
}

/** An approved deploy builds what was requested: a directory that changed since is refused. */
function assertSameRevisions(approval: NonNullable<SyncRequest["approval"]>, prepared: Prepared): void {
  const changed = prepared.services
    .filter((s) => {
      const was = approval.revisions[s.spec.ref.service];
      return was !== undefined && was !== (s.inputs as ReleaseInputs).source.revision;
    })
    .map((s) => s.spec.ref.service);
  if (changed.length > 0) {
    throw new BerthError("BERTH_APPROVAL_STALE", { id: approval.id, detail: `the source of ${changed.join(", ")} changed since it was requested` });
  }
}

/** The real path, so a symlinked or relative spelling of one directory is the same directory. */
function realDir(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * One directory, one stack: a directory sync of a project that is deployed from another
 * directory is refused (two folders whose blueprints share a name would otherwise replace each
 * other's services and share secrets silently). `force` moves the project on purpose.
 */
export function assertSameDirectory(store: Store, project: string, sourceDir: string): void {
  const existing = store.projects.byName(project)?.source;
  if (existing?.kind !== "dir" || realDir(existing.path) === realDir(sourceDir)) return;
  throw new BerthError("BERTH_PROJECT_DIR_CONFLICT", { project, existing: existing.path, requested: sourceDir });
}

/**
 * A dir source is a path on the daemon's host, read by the daemon (root): naming one is a host
 * privilege. Tokens without it sync only from the directory an owner recorded (issue 17).
 */
function authorizeSource(store: Store, project: string, request: SyncRequest): void {
  if (!request.requester || request.requester.mayChooseSource || request.git) return;
  const recorded = store.projects.byName(project)?.source;
  if (recorded?.kind === "dir" && recorded.path === request.sourceDir) return;
  throw new BerthError("BERTH_SOURCE_DIR_FORBIDDEN", {
    token: request.requester.token,
    project,
    path: request.sourceDir,
    recorded: recorded?.kind === "dir" ? recorded.path : recorded ? `a ${recorded.kind} source` : "none yet",
  });
}

/** What the project's other running environments take, from their recorded blueprints. */
function otherEnvironmentsUsage(store: Store, project: string, environment: string) {
  return store.environments
    .list()
    .filter((e) => e.project === project && e.name !== environment && e.status !== "stopped" && e.status !== "stopping")
    .flatMap((e) => environmentUsage(e.name, e.blueprint as Blueprint));
}

/** git (issue 5): each service's recorded source, so an unchanged filtered tree keeps its commit. */
function previousSources(store: Store, project: string, environment: string): Map<string, SourceRef> {
  const env = store.environments.byName(project, environment);
  const out = new Map<string, SourceRef>();
  for (const row of env ? store.services.list(env.id) : []) {
    const source = (row.inputs as { source?: SourceRef } | null)?.source;
    if (source) out.set(row.name, source);
  }
  return out;
}

/** Issue 20: the engine the environment names must be able to run it, or nothing is recorded. */
async function checkEngine(problem: (engine: string) => Promise<string | undefined>, bp: Blueprint, project: string, request: SyncRequest): Promise<void> {
  const detail = await problem(bp.engine);
  if (!detail) return;
  const own = (bp.source.environments as Record<string, { engine?: unknown } | undefined> | undefined)?.[request.environment]?.engine !== undefined;
  const path = own ? `environments.${request.environment}.engine` : "engine";
  throw new BerthError("BERTH_ENGINE_UNAVAILABLE", { environment: `${project}/${request.environment}`, engine: bp.engine, path, file: request.file, detail });
}

/**
 * A database's major changes only through `berth db upgrade`: a blueprint asking for another
 * major than the environment's server runs is refused (nothing recorded), unless it asks for
 * none — then the server keeps its major (created before 16 became the default) and a warning
 * says how to upgrade.
 */
function checkPostgresMajor(bp: Blueprint, current: number | undefined, request: SyncRequest): Diagnostic[] {
  if (current === undefined) return [];
  const out: Diagnostic[] = [];
  const raw = (bp.source.databases ?? {}) as Record<string, { postgres?: unknown } | undefined>;
  for (const d of bp.databases) {
    if (d.version === current) continue;
    if (raw[d.name]?.postgres === undefined) {
      const at = locateDatabase(request.blueprintText, d.name);
      out.push({ code: "BERTH_DATA_MAJOR_CHANGE", message: `database '${d.name}' keeps PostgreSQL ${current}: ${d.version} is the default for new databases only; \`berth db upgrade ${d.name} --to ${d.version}\` moves it`, hint: `Write \`postgres: ${current}\` to say so.`, file: request.file, ...at, path: ["databases", d.name] });
      continue;
    }
    throw new BerthError("BERTH_DATA_MAJOR_CHANGE", { name: d.name, current, requested: d.version });
  }
  return out;
}

/** Line and column of a database's entry under `databases:` (best effort; 1:1 when not found). */
function locateDatabase(text: string, name: string): { line: number; column: number } {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => /^databases:/.test(l));
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  for (let i = start + 1; start >= 0 && i < lines.length; i++) {
    const m = new RegExp(`^(\\s+)${escaped}:`).exec(lines[i]!);
    if (m) return { line: i + 1, column: m[1]!.length + 1 };
    if (/^\S/.test(lines[i]!)) break;
  }
  return { line: 1, column: 1 };
}
