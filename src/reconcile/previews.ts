/**
 * Preview environments per pull request (issue 19, deliverables 2-5), the effectful half.
 * Entry points (the GitHub webhook's `pull_request`, a served branch push matching
 * `previews.branches`, `berth preview approve|destroy`, the expiry beat) only record intent: a
 * `previews` row and a `preview` operation. The operation carries it out:
 *
 *   deploy:  fetch the head -> checkout -> (fork: datastores only, restore + scrub) -> sync of
 *            `pr-<n>` -> wait for the reconcile -> commit status
 *   destroy: services removed and stopped -> datastores, backups, secrets, environment,
 *            checkouts and the certificates of its hosts deleted -> row `destroyed`
 *
 * Decisions (what an event means, the cap, fork approval, expiry) are pure: deploy/previews.ts.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { mergeEnvironment, previewEnvironmentName, previewSecrets } from "../blueprint/environments.ts";
import { parseBlueprint } from "../blueprint/index.ts";
import type { Blueprint } from "../blueprint/types.ts";
import { type GitSources, validateBranch } from "../build/git-source.ts";
import type { Clock } from "../core/clock.ts";
import { BerthError } from "../core/errors.ts";
import type { EventSink } from "../core/events.ts";
import { defineOperation, type OperationContext, type OperationHandler } from "../core/operations.ts";
import { type Decider, mayDecide } from "../deploy/approval.ts";
import { ACTIVE_STATES, branchMatches, branchPreviews, commitStatus, expiredPreviews, planPullRequest, type PullRequestEvent } from "../deploy/previews.ts";
import type { ServiceRef } from "../engine/engine.ts";
import type { SecretStore } from "../secrets/store.ts";
import type { EnvironmentRow } from "../store/repositories/environments.ts";
import type { OperationRow } from "../store/repositories/operations.ts";
import type { PreviewRow, PreviewState } from "../store/repositories/previews.ts";
import type { Store } from "../store/store.ts";
import { DEFAULT_FORGE_API, FORGE_API_URL, FORGE_OWNER, FORGE_TOKEN, type ForgeSettings, postStatus } from "./forge.ts";
import type { OperationRunner } from "./operations.ts";
import { forkPreviewData } from "./preview-data.ts";
import type { ResourceManager } from "./resources.ts";
import type { SyncRequest, SyncResult } from "./sync.ts";

export const PREVIEW_OPERATION = "preview";

const Params = z.strictObject({
  project: z.string(),
  number: z.number().int().min(1),
  action: z.enum(["deploy", "destroy"]),
  reason: z.string().optional(),
});
type Params = z.infer<typeof Params>;

export interface PreviewsDeps {
  readonly store: Store;
  readonly sources: GitSources;
  readonly sync: (request: SyncRequest, actor: string) => Promise<SyncResult>;
  readonly resources: ResourceManager;
  readonly secrets: SecretStore | undefined;
  readonly events: EventSink;
  readonly clock: Clock;
  readonly operations: Pick<OperationRunner, "enqueue" | "whenIdle">;
  readonly requestReconcile: (environmentId: string) => void;
  readonly urls: (ref: ServiceRef) => string[];
  /**
   * Deletes the stored certificates of a destroyed environment's hosts (the router's, when it has
   * an HTTPS listener); returns the domains removed. Absent: no router, nothing to delete.
   */
  readonly removeCertificates?: (project: string, environment: string) => Promise<string[]>;
  /** How long a deploy waits for its reconcile to settle before reporting (default 10 min). */
  readonly settleTimeoutMs?: number;
}

export interface PreviewAnswer {
  readonly accepted: boolean;
  readonly decision: string;
  readonly reason: string | null;
  readonly preview: string | null;
  readonly operation: string | null;
}

export class Previews {
  readonly #d: PreviewsDeps;
  #timer: NodeJS.Timeout | undefined;
  constructor(deps: PreviewsDeps) {
    this.#d = deps;
  }

  /** The handler the operation runner carries previews out with (registered in server.ts). */
  operation(): OperationHandler<Params, unknown> {
    return defineOperation({
      kind: PREVIEW_OPERATION,
      params: Params,
      resumable: true,
      scope: (p) => ({ key: `preview:${p.project}:${p.number}`, project: p.project, environment: previewEnvironmentName(p.number) }),
      run: (ctx) => (ctx.params.action === "deploy" ? this.#deploy(ctx) : this.#destroy(ctx)),
    });
  }

  /**
   * The blueprint that decides about previews: the recorded one of the project's base
   * environment (what the default branch deployed), never the pull request's own file.
   */
  trusted(project: string): { env: EnvironmentRow; bp: Blueprint } | undefined {
    const envs = this.#d.store.environments.list().filter((e) => e.project === project && !/^pr-\d+$/.test(e.name));
    const withPreviews = envs.map((env) => ({ env, bp: env.blueprint as Blueprint })).filter((x) => x.bp?.previews);
    const base = withPreviews.find((x) => x.env.name === x.bp.previews.baseEnvironment);
    return base ?? withPreviews[0];
  }

  /** A `pull_request` delivery (HMAC already verified): records what it means. */
  onPullRequest(project: string, ev: PullRequestEvent): PreviewAnswer {
    const { store } = this.#d;
    const trusted = this.trusted(project);
    const current = store.previews.byNumber(project, ev.number);
    const policy = trusted?.bp.previews ?? { mode: "off" as const, maxPreviews: 0 };
    const active = store.previews.list({ project, active: true }).length;
    const decision = planPullRequest(ev, current, { mode: trusted ? policy.mode : "off", maxPreviews: policy.maxPreviews, active });
    const environment = previewEnvironmentName(ev.number);
    const head = { project, number: ev.number, environment, source: "github" as const, branch: ev.headRef, headSha: ev.headSha, headRepo: ev.headRepo, baseRepo: ev.baseRepo, openedBy: ev.sender };
    const now = this.#now();
    const scope = { project, environment };
    switch (decision.kind) {
      case "ignore":
        return { accepted: false, decision: decision.kind, reason: decision.reason, preview: current ? environment : null, operation: null };
      case "refuse":
        this.#d.events.emit({ type: "preview:refused", scope: { project }, actor: "github", data: { number: ev.number, reason: decision.reason } });
        void this.#status(project, { number: ev.number, source: "github", baseRepo: ev.baseRepo, headSha: ev.headSha }, "refused", decision.reason, undefined);
        return { accepted: false, decision: decision.kind, reason: decision.reason, preview: null, operation: null };
      case "await-approval": {
        const row = store.previews.upsertHead(head, "awaiting-approval", decision.reason, now);
        this.#d.events.emit({ type: "preview:awaiting-approval", scope, actor: "github", data: { number: ev.number, environment, commit: ev.headSha, fork: ev.headRepo } });
        void this.#status(project, row, "awaiting-approval", null, undefined);
        return { accepted: true, decision: decision.kind, reason: decision.reason, preview: environment, operation: null };
      }
      case "deploy": {
        store.previews.upsertHead(head, "deploying", null, now);
        const op = this.#enqueue({ project, number: ev.number, action: "deploy" }, "github");
        return { accepted: true, decision: decision.kind, reason: null, preview: environment, operation: op.id };
      }
      case "destroy": {
        const op = this.destroy(project, ev.number, decision.reason, "github");
        return { accepted: true, decision: decision.kind, reason: decision.reason, preview: environment, operation: op.id };
      }
    }
  }

  /** A push to a served repository: a branch matching `previews.branches` gets (or updates) a preview. */
  onBranchPush(project: string, branch: string, commit: string, bp: Blueprint, actor: string): OperationRow | undefined {
    const trusted = this.trusted(project)?.bp ?? bp;
    if (trusted.previews.mode === "off") return undefined;
    const { store } = this.#d;
    const existing = store.previews.byBranch(project, "served", branch);
    const live = existing && existing.state !== "destroyed";
    // A preview opened by `berth preview create --branch` follows its branch whatever the globs;
    // in manual mode a push never opens one.
    if (!(live && existing.state !== "destroying") && (trusted.previews.mode === "manual" || !branchMatches(branch, trusted.previews.branches))) return undefined;
    if (!live && store.previews.list({ project, active: true }).length >= trusted.previews.maxPreviews) {
      this.#d.events.emit({ type: "preview:refused", scope: { project }, actor, data: { number: 0, reason: `branch ${branch}: the project runs ${trusted.previews.maxPreviews} previews, its cap (previews.maxPreviews)` } });
      return undefined;
    }
    const number = existing?.number ?? store.previews.nextNumber(project);
    const environment = previewEnvironmentName(number);
    store.previews.upsertHead({ project, number, environment, source: "served", branch, headSha: commit, headRepo: "", baseRepo: "", openedBy: actor }, "deploying", null, this.#now());
    return this.#enqueue({ project, number, action: "deploy" }, actor);
  }

  /**
   * `berth preview create` (previews `manual` or `automatic`): a preview of a branch's head,
   * numbered `number` (a pull request's) or the project's next. Recorded here, refused over the
   * cap (`BERTH_PREVIEW_LIMIT`, and a `preview:refused` event); the operation fetches the branch
   * and deploys its head. An existing preview of that number is redeployed from the branch.
   */
  create(project: string, req: { readonly branch: string; readonly number?: number }, actor: string): { preview: PreviewRow; operation: OperationRow } {
    const { store } = this.#d;
    validateBranch(req.branch);
    const what = `${project} branch ${req.branch}`;
    const trusted = this.trusted(project);
    if (!trusted) throw new BerthError("BERTH_PREVIEWS_OFF", { project, detail: "no deployed environment's berth.yaml has a `previews` section (deploy the base branch first)" });
    const policy = trusted.bp.previews;
    if (policy.mode === "off") throw new BerthError("BERTH_PREVIEWS_OFF", { project, detail: `previews.mode is off in ${trusted.env.name}'s berth.yaml` });
    this.#gitSource(project); // a project without a git source has no branch to preview
    const number = req.number ?? store.previews.nextNumber(project);
    const current = store.previews.byNumber(project, number);
    const active = current && ACTIVE_STATES.includes(current.state);
    if (current?.state === "destroying") throw new BerthError("BERTH_PREVIEW_LIMIT", { what, detail: `preview #${number} is being destroyed; create it again once it is gone` });
    if (!active) {
      const running = store.previews.list({ project, active: true }).length;
      if (running >= policy.maxPreviews) {
        const reason = `the project runs ${running} previews, its cap (previews.maxPreviews: ${policy.maxPreviews})`;
        this.#d.events.emit({ type: "preview:refused", scope: { project }, actor, data: { number, reason } });
        throw new BerthError("BERTH_PREVIEW_LIMIT", { what, detail: reason });
      }
    }
    const environment = previewEnvironmentName(number);
    // The head is resolved by the operation (a fetch of the branch): entry points only record.
    store.previews.upsertHead({ project, number, environment, source: "served", branch: req.branch, headSha: "", headRepo: "", baseRepo: "", openedBy: actor }, "deploying", null, this.#now());
    const operation = this.#enqueue({ project, number, action: "deploy" }, actor);
    return { preview: store.previews.byNumber(project, number)!, operation };
  }

  /** An owner approves the head commit of a fork's pull request: it is deployed now. */
  approve(project: string, number: number, who: Decider): { preview: PreviewRow; operation: OperationRow } {
    const role = mayDecide(who, "approve");
    if (!role.ok) throw new BerthError(role.code, role.params);
    const row = this.#d.store.previews.byNumber(project, number);
    if (!row) throw new BerthError("BERTH_NOT_FOUND", { kind: "preview", name: `${project} #${number}` });
    if (row.state !== "awaiting-approval") throw new BerthError("BERTH_PREVIEW_NOT_AWAITING", { number, project, detail: `it is ${row.state}` });
    const now = this.#now();
    this.#d.store.previews.approve(row.id, row.headSha, who.name, now);
    this.#d.store.previews.setState(row.id, "deploying", null, now);
    this.#d.events.emit({ type: "preview:approved", scope: { project, environment: row.environment }, actor: who.name, data: { number, environment: row.environment, commit: row.headSha } });
    const operation = this.#enqueue({ project, number, action: "deploy" }, who.name);
    return { preview: this.#d.store.previews.byNumber(project, number)!, operation };
  }

  /** Records the removal of a preview (closed pull request, expiry, `berth preview destroy`). */
  destroy(project: string, number: number, reason: string, actor: string): OperationRow {
    const row = this.#d.store.previews.byNumber(project, number);
    if (!row) throw new BerthError("BERTH_NOT_FOUND", { kind: "preview", name: `${project} #${number}` });
    if (row.state !== "destroyed") this.#d.store.previews.setState(row.id, "destroying", reason, this.#now());
    return this.#enqueue({ project, number, action: "destroy", reason }, actor);
  }

  /**
   * Issue 19: a branch of the project's repository was deleted (a push webhook with `deleted`,
   * or gone from a served repository): its branch-opened previews are destroyed (recorded; the
   * preview operation removes them). Returns the operations, none when no preview follows it.
   */
  onBranchDeleted(project: string, branch: string, actor: string): { number: number; environment: string; operation: OperationRow }[] {
    return branchPreviews(this.#d.store.previews.list({ project, active: true }), branch).map((row) => ({
      number: row.number,
      environment: row.environment,
      operation: this.destroy(project, row.number, `branch ${branch} was deleted`, actor),
    }));
  }

  /** Issue 19: branches that active branch-opened previews of the project follow. */
  previewBranches(project: string): string[] {
    return [...new Set(branchPreviews(this.#d.store.previews.list({ project, active: true })).map((r) => r.branch))];
  }

  /** The expiry beat: previews without a push for `expireAfterDays` are destroyed. */
  expire(): OperationRow[] {
    const out: OperationRow[] = [];
    const projects = new Set(this.#d.store.previews.list({ active: true }).map((p) => p.project));
    for (const project of projects) {
      const days = this.trusted(project)?.bp.previews.expireAfterDays;
      for (const row of expiredPreviews(this.#d.store.previews.list({ project, active: true }), days, this.#d.clock.now())) {
        out.push(this.destroy(project, row.number, `no push for ${days} days (previews.expireAfterDays)`, "system"));
      }
    }
    return out;
  }

  start(intervalMs = 3_600_000): void {
    this.#timer = setInterval(() => {
      try {
        this.expire();
      } catch {
        // the next beat tries again
      }
    }, intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  #enqueue(params: Params, actor: string): OperationRow {
    return this.#d.operations.enqueue(PREVIEW_OPERATION, params, { actor, dedupe: "pending" });
  }

  async #deploy(ctx: OperationContext<Params>): Promise<unknown> {
    const { store } = this.#d;
    const { project, number } = ctx.params;
    const row = store.previews.byNumber(project, number);
    if (!row || row.state === "destroyed" || row.state === "destroying" || row.state === "awaiting-approval") return { skipped: row?.state ?? "gone" };
    const environment = row.environment;
    const scope = { project, environment };
    const { url, defaultBranch } = this.#gitSource(project);
    let commit = row.headSha;
    if (!commit) {
      // `berth preview create`: the branch's head, fetched now.
      ctx.progress("fetch", row.branch);
      commit = await this.#d.sources.fetch(url, row.branch, ctx.signal);
      store.previews.setHead(row.id, commit, this.#now());
    }
    const created = !store.environments.byName(project, environment);
    this.#d.events.emit({ type: "preview:deploying", scope, actor: ctx.actor, data: { number, environment, commit, created } });
    void this.#status(project, row, "deploying", null, undefined);
    try {
      ctx.progress("fetch", commit);
      if (!(await this.#d.sources.hasCommit(url, commit))) {
        if (row.source === "github") await this.#d.sources.fetchPullHead(url, number, ctx.signal);
        else await this.#d.sources.fetch(url, row.branch, ctx.signal);
      }
      if (!(await this.#d.sources.hasCommit(url, commit))) throw new BerthError("BERTH_GIT_FAILED", { step: "fetch", detail: `commit ${commit} is not the head of pull request #${number} in ${url}` });
      ctx.progress("checkout", commit);
      const checkout = await this.#d.sources.checkout(url, commit);
      const file = join(checkout, "berth.yaml");
      if (!existsSync(file)) throw new BerthError("BERTH_GIT_BLUEPRINT_MISSING", { commit });
      const text = readFileSync(file, "utf8");
      const parsed = parseBlueprint(text, { file: "berth.yaml" });
      if (!parsed.ok) {
        const first = parsed.errors[0];
        throw new BerthError("BERTH_BLUEPRINT_INVALID", { file: `berth.yaml@${commit.slice(0, 12)}`, count: parsed.errors.length, first: first ? `${first.line}:${first.column} ${first.message}` : "" }, { details: parsed.errors });
      }
      const trusted = this.trusted(project);
      const data = trusted?.bp.previews.data ?? { mode: "empty" as const };
      // Variables that are empty in the preview (issue 19, deliverable 4): shown in its status.
      const bp = parsed.blueprint;
      const base = bp.previews.baseEnvironment;
      const unset = previewSecrets(base ? mergeEnvironment(bp.source as Record<string, unknown>, base) : (bp.source as Record<string, unknown>), bp.previews.envGroups).unset;
      store.previews.setUnsetSecrets(row.id, unset, this.#now());
      if (data.mode === "fork" && row.dataState !== "ready") {
        const parent = store.environments.byName(project, data.from);
        if (!parent) return this.#dataFailed(row, "fork", `the parent environment ${data.from} is not deployed`, ctx.actor);
        ctx.progress("data", `fork of ${data.from}`);
        // The datastores alone, no services: nothing routes to the preview until the scrub passed.
        const env = this.#recordDatastoresOnly(project, environment, bp, created);
        if (row.dataState === "failed" || !created) await this.#d.resources.destroyEnvironment(env); // a fresh copy each attempt
        await this.#d.resources.ensureNow(env, ctx.signal);
        const trustedDir = await this.#parentSource(parent);
        const r = await forkPreviewData(this.#d.resources, { parent, preview: env, data, id: row.id, trustedDir, now: () => this.#d.clock.now() });
        this.#d.events.emit({ type: "preview:data", scope, actor: ctx.actor, data: { number, environment, mode: "fork", ok: r.ok, detail: r.detail } });
        if (!r.ok) return this.#dataFailed(row, r.step, r.detail, ctx.actor);
        store.previews.setData(row.id, "ready", this.#now());
      }
      ctx.progress("sync", environment);
      const result = await this.#d.sync(
        {
          project,
          environment,
          blueprintText: text,
          file: "berth.yaml",
          sourceDir: checkout,
          git: { url, branch: row.branch, defaultBranch, revisionOf: () => ({ kind: "git", url, ref: row.branch, revision: commit }) },
        },
        ctx.actor,
      );
      ctx.progress("rollout", environment);
      const settled = await this.#settle(result.environmentId, result.generation, ctx.signal);
      const urls = this.#urls(project, environment, result.services);
      const now = store.previews.byNumber(project, number);
      if (!now || now.headSha !== commit || now.state === "destroying" || now.state === "destroyed") return { commit, superseded: true };
      const state: PreviewState = settled.status === "live" ? "live" : "failed";
      store.previews.setState(row.id, state, settled.status === "live" ? null : (settled.detail ?? settled.status), this.#now());
      if (state === "live") this.#d.events.emit({ type: "preview:live", scope, actor: ctx.actor, data: { number, environment, commit, urls } });
      else this.#d.events.emit({ type: "preview:failed", scope, actor: ctx.actor, data: { number, environment, reason: settled.detail ?? settled.status } });
      await this.#status(project, row, state, state === "live" ? null : settled.detail, urls[0]);
      return { commit, environment, state, urls, unsetSecrets: unset };
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      store.previews.setState(row.id, "failed", reason, this.#now());
      this.#d.events.emit({ type: "preview:failed", scope, actor: ctx.actor, data: { number, environment, reason } });
      await this.#status(project, row, "failed", reason, undefined);
      throw e;
    }
  }

  async #dataFailed(row: PreviewRow, step: string, detail: string, actor: string): Promise<unknown> {
    const now = this.#now();
    this.#d.store.previews.setData(row.id, "failed", now);
    const why = new BerthError("BERTH_PREVIEW_DATA_FAILED", { environment: row.environment, step, detail });
    this.#d.store.previews.setState(row.id, "data-failed", why.message, now);
    this.#d.events.emit({ type: "preview:failed", scope: { project: row.project, environment: row.environment }, actor, data: { number: row.number, environment: row.environment, reason: why.message } });
    await this.#status(row.project, row, "data-failed", `${step}: ${detail}`, undefined);
    return { environment: row.environment, state: "data-failed", reason: why.message };
  }

  /** Records the preview environment with its blueprint's datastores and no services. */
  #recordDatastoresOnly(project: string, environment: string, bp: Blueprint, created: boolean): EnvironmentRow {
    const { store } = this.#d;
    const now = this.#now();
    const resolved = { ...bp, services: [], environment: { name: environment, autoDeploy: true, approvalRequired: false } } as Blueprint;
    return store.db.tx(() => {
      const p = store.projects.require(project);
      const e = store.environments.record(p.id, environment, resolved, now);
      if (created) store.services.replaceAll(e.id, [], now);
      return store.environments.requireId(e.id);
    });
  }

  /** Where a fork's scrub command runs: the parent environment's source (its recorded commit). */
  async #parentSource(parent: EnvironmentRow): Promise<string | undefined> {
    for (const s of this.#d.store.services.list(parent.id)) {
      const src = (s.inputs as { source?: { kind: string; url?: string; path?: string; revision?: string } } | null)?.source;
      if (src?.kind === "git" && src.url && src.revision) return this.#d.sources.checkout(src.url, src.revision);
      if (src?.kind === "dir" && src.path) return src.path;
    }
    return undefined;
  }

  async #settle(environmentId: string, generation: number, signal: AbortSignal): Promise<{ status: string; detail: string | null }> {
    const deadline = this.#d.clock.now() + (this.#d.settleTimeoutMs ?? 10 * 60_000);
    for (;;) {
      const env = this.#d.store.environments.byId(environmentId);
      if (!env) return { status: "failed", detail: "the environment was removed" };
      if (env.reconciledGeneration >= generation && ["live", "degraded", "failed"].includes(env.status)) return { status: env.status, detail: env.statusDetail };
      if (this.#d.clock.now() > deadline) return { status: "failed", detail: `not settled after ${Math.round((this.#d.settleTimeoutMs ?? 600_000) / 1000)} s (${env.status})` };
      signal.throwIfAborted();
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async #destroy(ctx: OperationContext<Params>): Promise<unknown> {
    const { store } = this.#d;
    const { project, number } = ctx.params;
    const row = store.previews.byNumber(project, number);
    if (!row) return { skipped: "gone" };
    const environment = row.environment;
    const removed: string[] = [];
    const env = store.environments.byName(project, environment);
    if (env) {
      // Every commit this environment ran (its releases'): checkouts no other environment uses go too.
      const mine = new Set<string | undefined>([row.headSha]);
      for (const svc of store.services.list(env.id)) {
        for (const r of store.releases.list(svc.id)) mine.add((r.config as { inputs?: { source?: { revision?: string } } } | null)?.inputs?.source?.revision);
      }
      ctx.progress("stop", environment);
      const now = this.#now();
      store.db.tx(() => {
        store.services.replaceAll(env.id, [], now);
        store.environments.setStatus(env.id, "stopping", "preview destroyed", now);
      });
      this.#d.requestReconcile(env.id);
      const deadline = this.#d.clock.now() + 5 * 60_000;
      while (store.environments.byId(env.id)?.status !== "stopped" && this.#d.clock.now() < deadline) {
        ctx.signal.throwIfAborted();
        await new Promise((r) => setTimeout(r, 200));
      }
      ctx.progress("data", environment);
      removed.push(...(await this.#d.resources.destroyEnvironment(env)));
      // Its hosts are no longer routed (the environment is stopped): their certificates go too.
      if (this.#d.removeCertificates) {
        ctx.progress("certificates", environment);
        for (const domain of await this.#d.removeCertificates(project, environment)) removed.push(`certificate ${domain}`);
      }
      store.environments.remove(env.id);
      this.#removeCheckouts(mine, removed);
    } else {
      this.#removeCheckouts(new Set([row.headSha]), removed);
    }
    store.previews.setState(row.id, "destroyed", ctx.params.reason ?? null, this.#now());
    this.#d.events.emit({ type: "preview:destroyed", scope: { project, environment }, actor: ctx.actor, data: { number, environment, reason: ctx.params.reason ?? "", removed } });
    return { environment, removed };
  }

  #removeCheckouts(commits: Set<string | undefined>, removed: string[]): void {
    const inUse = new Set<string>();
    for (const e of this.#d.store.environments.list()) {
      for (const s of this.#d.store.services.list(e.id)) {
        const rev = (s.inputs as { source?: { revision?: string } } | null)?.source?.revision;
        if (rev) inUse.add(rev);
      }
    }
    for (const c of commits) {
      if (c && /^[0-9a-f]{40}$/.test(c) && !inUse.has(c) && this.#d.sources.removeCheckout(c)) removed.push(`checkout ${c}`);
    }
  }

  #urls(project: string, environment: string, services: readonly string[]): string[] {
    return services.flatMap((service) => this.#d.urls({ project, environment, service }).slice(0, 1));
  }

  #gitSource(project: string): { url: string; defaultBranch: string } {
    const row = this.#d.store.projects.require(project);
    if (row.source.kind !== "git") throw new BerthError("BERTH_GIT_NOT_FOLLOWED", { project });
    return { url: row.source.url, defaultBranch: row.source.ref };
  }

  /** The project's forge settings, when a token was set (`berth preview forge`). */
  #forge(project: string): ForgeSettings | undefined {
    const p = this.#d.store.projects.byName(project);
    if (!p || !this.#d.secrets) return undefined;
    const ref = (name: string) => ({ project: { id: p.id, name: p.name }, environment: "*", owner: FORGE_OWNER, name });
    const token = this.#d.secrets.read(ref(FORGE_TOKEN));
    return token ? { token, apiUrl: this.#d.secrets.read(ref(FORGE_API_URL)) ?? DEFAULT_FORGE_API } : undefined;
  }

  /** Posts a commit status (GitHub pull requests only); a failure is an event, never the preview's. */
  async #status(project: string, row: Pick<PreviewRow, "number" | "source" | "baseRepo" | "headSha">, state: PreviewState | "refused", detail: string | null, url: string | undefined): Promise<void> {
    if (row.source !== "github" || !row.baseRepo) return;
    const forge = this.#forge(project);
    if (!forge) return;
    try {
      await postStatus(forge, row.baseRepo, row.headSha, commitStatus(state, detail, url));
    } catch (e) {
      this.#d.events.emit({ type: "preview:status:failed", scope: { project }, actor: "system", data: { number: row.number, commit: row.headSha, reason: e instanceof Error ? e.message : String(e) } });
    }
  }

  #now(): string {
    return new Date(this.#d.clock.now()).toISOString();
  }
}
