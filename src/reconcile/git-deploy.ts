/**
 * Git auto-deploy (issue 5): a push to a followed branch becomes a sync of the environments that
 * follow it, at that commit. The commit is fetched into a mirror, checked out into the cache, its
 * berth.yaml read from the checkout, and each environment's desired state recorded through the
 * ordinary sync, with services' revisions being the commit (kept at the previous commit when the
 * service's filtered tree did not change).
 *
 * Entry points (served repositories, the webhook, the API) call `request`, which records a
 * `git-deploy` operation (issue 15) and returns at once; the operation runner carries it out,
 * one at a time per project (key `git:<project>`). It is resumable: fetch and checkout are
 * idempotent and each environment's sync is all-or-nothing, so a daemon killed mid-way simply
 * runs it again at start.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { parseBlueprint } from "../blueprint/index.ts";
import type { Blueprint } from "../blueprint/types.ts";
import { type GitSources, validateBranch, validateCommit, validateRepoUrl } from "../build/git-source.ts";
import type { Clock } from "../core/clock.ts";
import { BerthError } from "../core/errors.ts";
import type { EventSink } from "../core/events.ts";
import { defineOperation, type OperationContext, type OperationHandler } from "../core/operations.ts";
import type { SourceRef } from "../deploy/inputs.ts";
import type { GitRepository } from "../store/repositories/git.ts";
import type { OperationRow } from "../store/repositories/operations.ts";
import type { ProjectRow } from "../store/repositories/projects.ts";
import type { Store } from "../store/store.ts";
import type { OperationRunner } from "./operations.ts";
import type { GitSyncSource, SyncRequest, SyncResult } from "./sync.ts";

export interface GitDeployDeps {
  readonly store: Store;
  readonly rows: GitRepository;
  readonly sources: GitSources;
  readonly sync: (request: SyncRequest, actor: string) => Promise<SyncResult>;
  readonly events: EventSink;
  readonly clock: Clock;
  /** Where `request` records the push (the runner carries it out through `operation()`). */
  readonly operations: Pick<OperationRunner, "enqueue" | "whenIdle">;
}

/** The operation kind a push is recorded as. */
export const GIT_DEPLOY = "git-deploy";

/** A push as stored in the operation's params (the actor is the operation's creator). */
const PushParams = z.strictObject({
  project: z.string(),
  branch: z.string(),
  commit: z.string().optional(),
  via: z.enum(["served", "webhook", "api"]),
});
type PushParams = z.infer<typeof PushParams>;

export interface PushRequest {
  readonly project: string;
  readonly branch: string;
  /** Deploy exactly this commit (a webhook's `after`); default: the branch head after fetching. */
  readonly commit?: string;
  readonly via: "served" | "webhook" | "api";
  readonly actor: string;
}

export interface PushOutcome {
  readonly commit: string;
  /** Environments whose desired state was recorded at this commit (or held, see `pending`). */
  readonly environments: readonly string[];
  /** Issue 19: held deploys this push made (environments that require approval). */
  readonly pending?: readonly string[];
}

/**
 * Environments that follow `branch`: those declaring it, plus those declaring no branch when it
 * is the project's default branch (`production` when the blueprint declares no environments).
 * Automatic pushes skip environments with `autoDeploy: false`.
 */
export function environmentsFollowing(bp: Pick<Blueprint, "environments">, branch: string, defaultBranch: string, automatic: boolean): string[] {
  if (bp.environments.length === 0) return branch === defaultBranch ? ["production"] : [];
  return bp.environments.filter((e) => (e.branch ?? defaultBranch) === branch && (!automatic || e.autoDeploy)).map((e) => e.name);
}

/** Issue 19: where a served branch push matching `previews.branches` goes. */
export interface BranchPreviews {
  onBranchPush(project: string, branch: string, commit: string, bp: Blueprint, actor: string): OperationRow | undefined;
  /** A deleted branch: its branch-opened previews are destroyed (recorded). */
  onBranchDeleted(project: string, branch: string, actor: string): { number: number; environment: string; operation: OperationRow }[];
  /** Branches active branch-opened previews follow. */
  previewBranches(project: string): string[];
}

export class GitDeployer {
  readonly #d: GitDeployDeps;
  #previews: BranchPreviews | undefined;
  constructor(deps: GitDeployDeps) {
    this.#d = deps;
  }

  /** Issue 19: served branch pushes may open previews (set once by server.ts). */
  usePreviews(previews: BranchPreviews): void {
    this.#previews = previews;
  }

  /**
   * Issue 19: a branch was deleted (push webhook with `deleted: true`): previews opened for it are
   * destroyed. Only intent is recorded here; the preview operations carry it out.
   */
  branchDeleted(project: string, branch: string, actor: string): { number: number; environment: string; operation: OperationRow }[] {
    validateBranch(branch);
    return this.#previews?.onBranchDeleted(project, branch, actor) ?? [];
  }

  /**
   * Issue 19, level-based: of the branches previews follow, those no longer in `present` (the
   * heads of a served repository) were deleted.
   */
  branchesGone(project: string, present: ReadonlySet<string>, actor: string): void {
    for (const branch of this.#previews?.previewBranches(project) ?? []) if (!present.has(branch)) this.#previews?.onBranchDeleted(project, branch, actor);
  }

  /** The project's git source, or BERTH_GIT_NOT_FOLLOWED. */
  gitSource(project: string): { row: ProjectRow; url: string; defaultBranch: string } {
    const row = this.#d.store.projects.require(project);
    if (row.source.kind !== "git") throw new BerthError("BERTH_GIT_NOT_FOLLOWED", { project });
    return { row, url: row.source.url, defaultBranch: row.source.ref };
  }

  /** Points a project (created if new) at a repository; its default branch is `branch`. */
  follow(project: string, url: string, branch: string): ProjectRow {
    validateRepoUrl(url);
    validateBranch(branch);
    return this.#d.store.projects.upsert(project, { kind: "git", url, ref: branch }, this.#now());
  }

  /** Records a webhook delivery (id + body digest); false for a replay. */
  recordDelivery(projectId: string, deliveryId: string, body: Buffer): boolean {
    return this.#d.rows.recordDelivery(projectId, deliveryId, createHash("sha256").update(body).digest("hex"), this.#now());
  }

  /** The commit last synced for a branch (served repositories compare heads against it). */
  lastSynced(projectId: string, branch: string): string | undefined {
    return this.#d.rows.head(projectId, branch);
  }

  /**
   * Records a push as a `git-deploy` operation and returns it; nothing is fetched in the caller.
   * An unfollowed project or a malformed branch/commit is refused here. A push of an exact
   * commit that is already recorded and unfinished returns that operation; a push of "the
   * branch head" joins one that has not started yet (it will fetch the newest head anyway).
   */
  request(request: PushRequest): OperationRow {
    this.gitSource(request.project);
    const params: PushParams = {
      project: request.project,
      branch: validateBranch(request.branch),
      ...(request.commit ? { commit: validateCommit(request.commit) } : {}),
      via: request.via,
    };
    return this.#d.operations.enqueue(GIT_DEPLOY, params, { actor: request.actor, dedupe: params.commit ? "unfinished" : "pending" });
  }

  /** The handler the operation runner carries pushes out with (registered in server.ts). */
  operation(): OperationHandler<PushParams, PushOutcome> {
    return defineOperation({
      kind: GIT_DEPLOY,
      params: PushParams,
      resumable: true,
      scope: (p) => ({ key: `git:${p.project}`, project: p.project, environment: null }),
      run: (ctx) => this.#push({ ...ctx.params, actor: ctx.actor }, ctx),
    });
  }

  /**
   * Issue 19: what an approved, held push needs to be replayed: the checkout of its commit and
   * the git side of its sync (revisions narrowed by build filters, as when it was pushed).
   */
  async replay(origin: { url: string; branch: string; defaultBranch: string; commit: string }): Promise<{ sourceDir: string; git: GitSyncSource }> {
    const commit = validateCommit(origin.commit);
    const sourceDir = await this.#d.sources.checkout(origin.url, commit);
    return { sourceDir, git: { url: origin.url, branch: origin.branch, defaultBranch: origin.defaultBranch, revisionOf: this.#revisionOf(origin.url, origin.branch, commit) } };
  }

  /** Resolves once no operation is in flight (tests, shutdown). */
  whenIdle(): Promise<void> {
    return this.#d.operations.whenIdle();
  }

  async #push(request: PushRequest, ctx: Pick<OperationContext<unknown>, "progress" | "signal">): Promise<PushOutcome> {
    const { row, url, defaultBranch } = this.gitSource(request.project);
    const branch = validateBranch(request.branch);
    let commit = request.commit ? validateCommit(request.commit) : "";
    try {
      ctx.progress("fetch", `${branch} from ${url}`);
      const head = await this.#d.sources.fetch(url, branch);
      if (!commit) commit = head;
      else if (!(await this.#d.sources.hasCommit(url, commit))) {
        throw new BerthError("BERTH_GIT_FAILED", { step: "fetch", detail: `commit ${commit} is not on ${branch} in ${url}` });
      }
      this.#d.events.emit({ type: "git:push", scope: { project: request.project }, actor: request.actor, data: { project: request.project, branch, commit, via: request.via } });
      ctx.signal.throwIfAborted();
      ctx.progress("checkout", commit);
      const checkout = await this.#d.sources.checkout(url, commit);
      ctx.signal.throwIfAborted();
      const file = join(checkout, "berth.yaml");
      if (!existsSync(file)) throw new BerthError("BERTH_GIT_BLUEPRINT_MISSING", { commit });
      const text = readFileSync(file, "utf8");
      const parsed = parseBlueprint(text, { file: "berth.yaml" });
      if (!parsed.ok) {
        const first = parsed.errors[0];
        const where = first ? `${first.line}:${first.column} ${first.message}` : "";
        throw new BerthError("BERTH_BLUEPRINT_INVALID", { file: `berth.yaml@${commit.slice(0, 12)}`, count: parsed.errors.length, first: where }, { details: parsed.errors });
      }
      const environments = environmentsFollowing(parsed.blueprint, branch, defaultBranch, request.via !== "api");
      const revisionOf = this.#revisionOf(url, branch, commit);
      const pending: string[] = [];
      for (const [i, environment] of environments.entries()) {
        ctx.progress("sync", environment, { done: i, total: environments.length });
        const r = await this.#d.sync(
          {
            project: request.project,
            environment,
            blueprintText: text,
            file: "berth.yaml",
            sourceDir: checkout,
            git: { url, branch, defaultBranch, revisionOf },
            // Issue 19: an environment that requires approval holds the push; this replays it.
            origin: { via: "push", url, branch, defaultBranch, commit },
          },
          request.actor,
        );
        if (r.pending) pending.push(r.pending.id);
      }
      this.#d.rows.setHead(row.id, branch, commit, this.#now());
      // Issue 19: a served branch no environment follows may be a preview's (previews.branches).
      if (request.via === "served" && environments.length === 0) this.#previews?.onBranchPush(request.project, branch, commit, parsed.blueprint, request.actor);
      this.#d.events.emit({ type: "git:synced", scope: { project: request.project }, actor: request.actor, data: { project: request.project, branch, commit, environments } });
      return { commit, environments, ...(pending.length ? { pending } : {}) };
    } catch (e) {
      // Recorded even on failure, so a served repository does not retry a broken commit forever;
      // the next push (or an explicit deploy) tries again.
      if (commit) this.#d.rows.setHead(row.id, branch, commit, this.#now());
      const reason = e instanceof Error ? e.message : String(e);
      this.#d.events.emit({ type: "git:sync:failed", scope: { project: request.project }, actor: request.actor, data: { project: request.project, branch, commit, reason } });
      throw e;
    }
  }

  /**
   * A service's source at `commit`: the commit itself, unless the service's filtered tree (rootDir,
   * or `build.paths` minus `build.ignoredPaths`) is the same as at the commit it recorded before —
   * then the previous source is kept, so the commit does not cut a new release of it.
   */
  #revisionOf(url: string, branch: string, commit: string) {
    return (s: Parameters<NonNullable<SyncRequest["git"]>["revisionOf"]>[0], previous: SourceRef | undefined): SourceRef => {
      const next: SourceRef = { kind: "git", url, ref: branch, revision: commit };
      if (previous?.kind !== "git" || previous.url !== url || previous.ref !== branch || previous.revision === commit) return next;
      const filter = { rootDir: s.build.rootDir, paths: s.build.paths, ignoredPaths: s.build.ignoredPaths };
      try {
        const same = this.#d.sources.filteredTreeDigest(url, previous.revision, filter) === this.#d.sources.filteredTreeDigest(url, commit, filter);
        return same ? previous : next;
      } catch {
        return next; // the previous commit is gone (force-push + gc): build this one
      }
    };
  }

  #now(): string {
    return new Date(this.#d.clock.now()).toISOString();
  }
}
