/**
 * Approval gates (issue 19), the effectful half. The gate itself sits in the sync (sync.ts): a
 * deploy to an environment that requires approval is recorded as a held row instead of desired
 * state. Here an owner decides it: `approve` replays the stored request as an ordinary sync
 * (marking the row approved in the sync's own transaction, so it is approved exactly when its
 * desired state is recorded), `reject` closes it. Both are quick store writes, like a sync; the
 * rollout is the reconciler's work, as for any deploy.
 */
import type { Clock } from "../core/clock.ts";
import { BerthError } from "../core/errors.ts";
import type { EventSink } from "../core/events.ts";
import { type Decider, decide, mayDecide } from "../deploy/approval.ts";
import type { PendingDeployRow } from "../store/repositories/pending-deploys.ts";
import type { Store } from "../store/store.ts";
import type { GitSyncSource, SyncRequest, SyncResult } from "./sync.ts";

export interface ApprovalDeps {
  readonly store: Store;
  readonly sync: (request: SyncRequest, actor: string) => Promise<SyncResult>;
  readonly events: EventSink;
  readonly clock: Clock;
  /** Replays a held git push (git-deploy.ts `replay`): the commit's checkout and git source. */
  readonly replayPush: (origin: { url: string; branch: string; defaultBranch: string; commit: string }) => Promise<{ sourceDir: string; git: GitSyncSource }>;
}

export class Approvals {
  readonly #d: ApprovalDeps;
  constructor(deps: ApprovalDeps) {
    this.#d = deps;
  }

  /** The held deploy `who` may decide, or the catalogue error saying why not. */
  #decidable(id: string, who: Decider, action: "approve" | "reject"): PendingDeployRow {
    const role = mayDecide(who, action);
    if (!role.ok) throw new BerthError(role.code, role.params);
    const row = this.#d.store.pendingDeploys.byId(id);
    if (!row) throw new BerthError("BERTH_NOT_FOUND", { kind: "pending deploy", name: id });
    const verdict = decide(who, row, action);
    if (!verdict.ok) throw new BerthError(verdict.code, verdict.params);
    return row;
  }

  /** Approves a held deploy: its request is recorded as desired state now. */
  async approve(id: string, who: Decider): Promise<{ deploy: PendingDeployRow; sync: SyncResult }> {
    const row = this.#decidable(id, who, "approve");
    const req = row.request;
    let replay: { sourceDir: string; git?: GitSyncSource } = { sourceDir: req.sourceDir };
    if (req.origin.via === "push") replay = await this.#d.replayPush(req.origin);
    const sync = await this.#d.sync(
      {
        project: row.project,
        environment: row.environment,
        blueprintText: req.blueprintText,
        file: req.file,
        sourceDir: replay.sourceDir,
        ...(replay.git ? { git: replay.git } : {}),
        retry: req.retry,
        force: req.force,
        origin: req.origin,
        approval: { id: row.id, actor: who.name, revisions: req.revisions },
      },
      who.name,
    );
    const deploy = this.#d.store.pendingDeploys.byId(id)!;
    this.#d.events.emit({
      type: "deploy:approved",
      scope: { project: row.project, environment: row.environment },
      actor: who.name,
      data: { id, environment: row.environment, via: row.via, generation: sync.generation },
    });
    return { deploy, sync };
  }

  /** Rejects a held deploy: nothing of it is ever recorded. */
  reject(id: string, who: Decider, reason: string | null): PendingDeployRow {
    const row = this.#decidable(id, who, "reject");
    const now = new Date(this.#d.clock.now()).toISOString();
    if (!this.#d.store.pendingDeploys.decide(id, { state: "rejected", by: who.name, reason }, now)) {
      // Decided or superseded since it was read: say by whom, as a refusal would have.
      const verdict = decide(who, this.#d.store.pendingDeploys.byId(id) ?? row, "reject");
      throw verdict.ok ? new BerthError("BERTH_DEPLOY_NOT_PENDING", { id, environment: `${row.project}/${row.environment}`, detail: "decided meanwhile", next: "`berth status` shows what runs" }) : new BerthError(verdict.code, verdict.params);
    }
    this.#d.events.emit({
      type: "deploy:rejected",
      scope: { project: row.project, environment: row.environment },
      actor: who.name,
      data: { id, environment: row.environment, via: row.via, reason },
    });
    return this.#d.store.pendingDeploys.byId(id)!;
  }
}
