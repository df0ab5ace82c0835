/**
 * The sync entry point: a blueprint (text, as the user wrote it) becomes recorded desired state
 * for one environment, and a reconcile is requested. It never touches processes: the reconciler
 * does that. All-or-nothing: an invalid blueprint records nothing.
 */
import { existsSync, realpathSync } from "node:fs";
import { isAbsolute } from "node:path";
import { parseBlueprint, resolveEnvironment } from "../blueprint/index.ts";
import type { Diagnostic } from "../blueprint/diagnostics.ts";
import type { Blueprint, Service } from "../blueprint/types.ts";
import { directoryDigest } from "../build/source-digest.ts";
import type { Clock } from "../core/clock.ts";
import { BerthError } from "../core/errors.ts";
import { syncJobs } from "../cron/api.ts";
import { cronJobsFromBlueprint } from "../cron/from-blueprint.ts";
import type { EventSink } from "../core/events.ts";
import { desiredServices, serviceDir } from "../deploy/desired.ts";
import { inputsDigest, type SourceRef } from "../deploy/inputs.ts";
import type { Store } from "../store/store.ts";
import type { EnvGraphShape } from "./env-version.ts";

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
  /** Deploy even if the project is deployed from another directory (the project moves here). */
  readonly force?: boolean;
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
  /** The PostgreSQL major an environment's server runs, once created (issue 14): a blueprint edit never changes it. */
  readonly postgresMajor?: (project: string, environment: string) => number | undefined;
}

export function makeSync(deps: SyncDeps): (request: SyncRequest, actor: string) => SyncResult {
  return (request, actor) => {
    if (!isAbsolute(request.sourceDir) || !existsSync(request.sourceDir)) {
      throw new BerthError("BERTH_BAD_REQUEST", { detail: `sourceDir: '${request.sourceDir}' is not an existing absolute directory` });
    }
    const parsed = parseBlueprint(request.blueprintText, { file: request.file });
    if (!parsed.ok) {
      const first = parsed.errors[0];
      throw new BerthError(
        "BERTH_BLUEPRINT_INVALID",
        { file: request.file, count: parsed.errors.length, first: first ? `${first.line}:${first.column} ${first.message}` : "" },
        { details: parsed.errors },
      );
    }
    const bp = resolveEnvironment(parsed.blueprint, request.environment);
    const project = request.project ?? bp.project;
    const warnings = [...parsed.warnings, ...checkPostgresMajor(bp, deps.postgresMajor?.(project, request.environment), request)];
    if (!request.git && !request.force) assertSameDirectory(deps.store, project, request.sourceDir);
    const now = new Date(deps.clock.now()).toISOString();
    const versionOf = deps.envVersion?.(project, request.environment, bp);
    const previous = request.git ? previousSources(deps.store, project, request.environment) : undefined; // git (issue 5)
    const services = desiredServices(bp, {
      project,
      environment: request.environment,
      staticServer: deps.staticServer,
      envVersion: "",
      revisionOf: (s) => {
        const dir = serviceDir(request.sourceDir, s);
        if (!existsSync(dir)) throw new BerthError("BERTH_BAD_REQUEST", { detail: `services.${s.name}.rootDir: '${dir}' does not exist` });
        if (request.git) return request.git.revisionOf(s, previous?.get(s.name)); // git (issue 5)
        return { kind: "dir", path: request.sourceDir, revision: directoryDigest(dir) };
      },
    }).map((s) => (versionOf ? { ...s, inputsDigest: inputsDigest(s.inputs, s.spec, versionOf(s.spec.ref.service)) } : s));
    const { store } = deps;
    const env = store.db.tx(() => {
      const source = request.git ? { kind: "git" as const, url: request.git.url, ref: request.git.defaultBranch } : { kind: "dir" as const, path: request.sourceDir };
      const p = store.projects.upsert(project, source, now);
      const e = store.environments.record(p.id, request.environment, bp, now);
      store.services.replaceAll(e.id, services, now);
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
      warnings,
    };
  };
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
