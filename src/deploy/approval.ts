/**
 * Approval gates (issue 19), the pure half: which deploys an environment holds, who may decide a
 * held one, and which older held deploys a newer one supersedes. No I/O: the store rows and the
 * token come in as plain data, so the rules are tested without a daemon.
 */
import type { ErrorCode, ErrorParams } from "../core/errors.ts";
import type { Role } from "../store/repositories/tokens.ts";

/** The role that approves and rejects held deploys (see docs/design/environments-workflow.md). */
export const APPROVER_ROLE: Role = "owner";

/** What a held deploy can be in. Only `pending` is decided; the others are final. */
export type PendingDeployState = "pending" | "approved" | "rejected" | "superseded";

/**
 * Whether a deploy to an environment must wait for approval. Either side asking is enough: the
 * environment as recorded (so a push cannot lift its own gate by deleting `approval: required`
 * from the blueprint) or the blueprint being deployed (so a first deploy, or a push that adds
 * the gate, is held too).
 */
export function needsApproval(recorded: { readonly approvalRequired: boolean } | undefined, incoming: { readonly approvalRequired: boolean }): boolean {
  return recorded?.approvalRequired === true || incoming.approvalRequired;
}

/** A token as the rules see it. */
export interface Decider {
  readonly name: string;
  readonly role: Role;
  /** Projects the token is scoped to; empty: every project. */
  readonly projects: readonly string[];
}

/** A held deploy as the rules see it. */
export interface HeldDeploy {
  readonly id: string;
  readonly project: string;
  readonly environment: string;
  readonly state: PendingDeployState;
  readonly supersededBy: string | null;
  readonly decidedBy: string | null;
}

export type Refusal = { readonly ok: false; readonly code: ErrorCode; readonly params: ErrorParams };
export type Verdict = { readonly ok: true } | Refusal;

/**
 * Whether a token may decide (approve or reject) anything at all: checked before the deploy is
 * looked up, so a viewer learns nothing about which ids exist.
 */
export function mayDecide(who: Decider, action: "approve" | "reject"): Verdict {
  if (who.role === APPROVER_ROLE) return { ok: true };
  return {
    ok: false,
    code: "BERTH_FORBIDDEN",
    params: { token: who.name, role: who.role, action: `${action} deploys held for approval (deployers request deploys, owners decide them)`, required: APPROVER_ROLE },
  };
}

/** Whether `who` may approve or reject this held deploy now; the refusal names why. */
export function decide(who: Decider, deploy: HeldDeploy, action: "approve" | "reject"): Verdict {
  const role = mayDecide(who, action);
  if (!role.ok) return role;
  // A token scoped to other projects learns nothing about this id (as for operations).
  if (who.projects.length > 0 && !who.projects.includes(deploy.project)) return { ok: false, code: "BERTH_NOT_FOUND", params: { kind: "pending deploy", name: deploy.id } };
  if (deploy.state === "pending") return { ok: true };
  const detail =
    deploy.state === "superseded"
      ? `superseded by ${deploy.supersededBy ?? "a newer deploy"}`
      : `already ${deploy.state}${deploy.decidedBy ? ` by ${deploy.decidedBy}` : ""}`;
  const hint =
    deploy.state === "superseded" && deploy.supersededBy
      ? `approve the newer one: \`berth approve ${deploy.supersededBy}\``
      : "`berth status` shows what runs";
  return { ok: false, code: "BERTH_DEPLOY_NOT_PENDING", params: { id: deploy.id, environment: `${deploy.project}/${deploy.environment}`, detail, next: hint } };
}

/**
 * The held deploys a new one replaces: every one still pending for the same environment. Only
 * the newest request can be approved — approving an older push after a newer one arrived would
 * deploy code that is already out of date, and approving both would deploy twice.
 */
export function supersededBy(held: readonly Pick<HeldDeploy, "id" | "project" | "environment" | "state">[], incoming: { readonly project: string; readonly environment: string }): string[] {
  return held.filter((h) => h.state === "pending" && h.project === incoming.project && h.environment === incoming.environment).map((h) => h.id);
}
