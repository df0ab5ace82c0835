/**
 * The sync entry point: a blueprint (text, as the user wrote it) becomes recorded desired state
 * for one environment, and a reconcile is requested. It never touches processes: the reconciler
 * does that. All-or-nothing: an invalid blueprint records nothing.
 */
import { existsSync } from "node:fs";
import { isAbsolute } from "node:path";
import { Worker } from "node:worker_threads";
import type { Diagnostic } from "../blueprint/diagnostics.ts";
import type { Service } from "../blueprint/types.ts";
import type { Clock } from "../core/clock.ts";
import { yieldToLoop } from "../core/concurrency.ts";
import { BerthError, type ErrorCode, type ErrorParams } from "../core/errors.ts";
import { syncJobs } from "../cron/api.ts";
import { cronJobsFromBlueprint } from "../cron/from-blueprint.ts";
import type { EventSink } from "../core/events.ts";
import { inputsDigest, type SourceRef } from "../deploy/inputs.ts";
import type { Store } from "../store/store.ts";
import type { EnvGraphShape } from "./env-version.ts";
import { type PrepareInput, type Prepared, prepareSync } from "./sync-prepare.ts";

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
}

/** Blueprints longer than this are prepared in a worker thread (a 5,000-service one takes seconds). */
const WORKER_THRESHOLD_CHARS = 64 * 1024;

export function makeSync(deps: SyncDeps): (request: SyncRequest, actor: string) => Promise<SyncResult> {
  return async (request, actor) => {
    if (!isAbsolute(request.sourceDir) || !existsSync(request.sourceDir)) {
      throw new BerthError("BERTH_BAD_REQUEST", { detail: `sourceDir: '${request.sourceDir}' is not an existing absolute directory` });
    }
    const { store } = deps;
    const max = deps.maxServicesPerProject ?? Number.POSITIVE_INFINITY;
    const others = store.services.countByProjectExcept(request.environment);
    const input: PrepareInput = {
      blueprintText: request.blueprintText,
      file: request.file,
      environment: request.environment,
      sourceDir: request.sourceDir,
      staticServer: deps.staticServer,
      ...(request.project ? { project: request.project } : {}),
    };
    const limit = { maxServicesPerProject: max, others: (project: string) => others[project] ?? 0 };
    let prepared: Prepared;
    if (request.git) {
      // git (issue 5): revisions come from the mirror (in-process), narrowed by build filters.
      const git = request.git;
      const previous = previousSources(store, request.project ?? "", request.environment);
      prepared = prepareSync({ ...input, limit }, (s) => git.revisionOf(s, previous.get(s.name)));
    } else if (request.blueprintText.length > WORKER_THRESHOLD_CHARS) {
      prepared = await prepareInWorker(input, others, max);
    } else {
      prepared = prepareSync({ ...input, limit });
    }
    const { project, blueprint: bp } = prepared;
    const now = new Date(deps.clock.now()).toISOString();
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
      const source = request.git ? { kind: "git" as const, url: request.git.url, ref: request.git.defaultBranch } : { kind: "dir" as const, path: request.sourceDir };
      const p = store.projects.upsert(project, source, now);
      const e = store.environments.record(p.id, request.environment, bp, now);
      store.services.replaceAll(e.id, services, now);
      if (request.retry) for (const s of store.services.list(e.id)) store.services.markFailed(s.id, null, now);
      // cron (issue 8): the environment's cron jobs follow its blueprint, in the same transaction.
      const envRef = { project, environment: request.environment };
      syncJobs(store.db, envRef, cronJobsFromBlueprint(envRef, bp), deps.clock.now());
      // A sync is an explicit request to run: it revives a stopped environment.
      store.environments.setStatus(e.id, "pending", null, now);
      return store.environments.requireId(e.id);
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
      warnings: prepared.warnings,
    };
  };
}

/** Prepares a large sync in a worker thread, so the daemon keeps answering meanwhile. */
function prepareInWorker(input: PrepareInput, others: Record<string, number>, maxServicesPerProject: number): Promise<Prepared> {
  const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  const worker = new Worker(new URL(`./sync-worker${ext}`, import.meta.url));
  return new Promise<Prepared>((resolve, reject) => {
    worker.once("message", (m: { ok: true; prepared: Prepared } | { ok: false; code: ErrorCode; params: ErrorParams; details: unknown[] | null }) => {
      if (m.ok) resolve(m.prepared);
      else reject(new BerthError(m.code, m.params, m.details ? { details: m.details } : {}));
    });
    worker.once("error", (e: Error) => reject(new BerthError("BERTH_INTERNAL", { detail: `sync worker: ${e.message}` }, { cause: e })));
    worker.once("exit", (code) => reject(new BerthError("BERTH_INTERNAL", { detail: `sync worker exited with code ${code}` })));
    worker.postMessage({ input, others, maxServicesPerProject });
  }).finally(() => void worker.terminate());
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
