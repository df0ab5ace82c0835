/**
 * Preview environments per pull request (issue 19), the pure half: what a forge's pull-request
 * event means for a project's previews, which previews have expired, and the commit status
 * reported back. No I/O: the effectful runner is src/reconcile/previews.ts.
 */
import { z } from "zod";

import { ACTIVE_STATES, type PreviewState } from "../store/repositories/previews.ts";

export { ACTIVE_STATES, type PreviewState };

/** A pull-request delivery, as much of GitHub's payload as previews read. */
export interface PullRequestEvent {
  readonly action: string;
  readonly number: number;
  readonly headSha: string;
  readonly headRef: string;
  /** `owner/name` of the repository the head branch lives in. */
  readonly headRepo: string;
  /** `owner/name` of the repository the pull request targets (commit statuses go there). */
  readonly baseRepo: string;
  readonly merged: boolean;
  readonly sender: string;
}

const Repo = z.looseObject({ full_name: z.string().min(1).max(200) });
const Payload = z.looseObject({
  action: z.string().max(50),
  number: z.number().int().min(1).max(999_999_999),
  pull_request: z.looseObject({
    merged: z.boolean().nullish(),
    head: z.looseObject({ sha: z.string().regex(/^[0-9a-f]{40}$/), ref: z.string().min(1).max(255), repo: Repo.nullish() }),
    base: z.looseObject({ repo: Repo }),
  }),
  sender: z.looseObject({ login: z.string().max(100) }).optional(),
});

/** Reads a `pull_request` delivery; undefined when it is not one (the reason says why). */
export function readPullRequest(payload: unknown): { ok: true; event: PullRequestEvent } | { ok: false; reason: string } {
  const r = Payload.safeParse(payload);
  if (!r.success) return { ok: false, reason: `not a pull_request payload: ${r.error.issues[0]?.path.join(".") || "body"} ${r.error.issues[0]?.message ?? ""}`.trim() };
  const p = r.data;
  const base = p.pull_request.base.repo.full_name;
  return {
    ok: true,
    event: {
      action: p.action,
      number: p.number,
      headSha: p.pull_request.head.sha,
      headRef: p.pull_request.head.ref,
      // A deleted fork has no head repo: it is not the base repository either.
      headRepo: p.pull_request.head.repo?.full_name ?? "(deleted fork)",
      baseRepo: base,
      merged: p.pull_request.merged === true,
      sender: p.sender?.login ?? "github",
    },
  };
}

/** What the project already has for this pull request. */
export interface PreviewFacts {
  readonly state: PreviewState;
  /** The head commit a maintainer approved (fork pull requests). */
  readonly approvedSha: string | null;
}

export interface PreviewPolicy {
  readonly mode: "off" | "manual" | "automatic";
  readonly maxPreviews: number;
  /** Previews of the project holding a slot now (ACTIVE_STATES), this one included if it is. */
  readonly active: number;
}

export type PreviewDecision =
  | { readonly kind: "ignore"; readonly reason: string }
  | { readonly kind: "deploy"; readonly create: boolean }
  | { readonly kind: "await-approval"; readonly create: boolean; readonly reason: string }
  | { readonly kind: "refuse"; readonly reason: string }
  | { readonly kind: "destroy"; readonly reason: string };

const isActive = (f: PreviewFacts | undefined): f is PreviewFacts => !!f && ACTIVE_STATES.includes(f.state);

/**
 * Pure. `opened`/`reopened`/`synchronize` deploy the head commit (creating the preview when the
 * pull request has none running), `closed` destroys it. A pull request from a fork runs code
 * nobody on the project reviewed: it waits for a maintainer's approval of exactly that head
 * commit (a later push needs approving again). A new preview over the cap is refused.
 */
export function planPullRequest(ev: PullRequestEvent, current: PreviewFacts | undefined, policy: PreviewPolicy): PreviewDecision {
  if (ev.action === "closed") {
    return isActive(current) ? { kind: "destroy", reason: ev.merged ? `pull request #${ev.number} was merged` : `pull request #${ev.number} was closed` } : { kind: "ignore", reason: "no preview to remove" };
  }
  if (!["opened", "reopened", "synchronize"].includes(ev.action)) return { kind: "ignore", reason: `action ${ev.action} changes no code` };
  if (policy.mode === "off") return { kind: "ignore", reason: "previews are off in the blueprint (previews.mode)" };
  if (policy.mode === "manual" && !isActive(current)) return { kind: "ignore", reason: "previews are manual: `berth preview create` opens one" };
  const create = !isActive(current);
  if (create && policy.active >= policy.maxPreviews) {
    return { kind: "refuse", reason: `the project runs ${policy.active} previews, its cap (previews.maxPreviews: ${policy.maxPreviews})` };
  }
  if (ev.headRepo !== ev.baseRepo && current?.approvedSha !== ev.headSha) {
    return { kind: "await-approval", create, reason: `from fork ${ev.headRepo}: waits for a maintainer (\`berth preview approve ${ev.number}\`)` };
  }
  return { kind: "deploy", create };
}

/** Pure. Previews whose last push is `expireAfterDays` old or older (none when the blueprint sets no expiry). */
export function expiredPreviews<T extends { readonly state: PreviewState; readonly lastPushAt: string }>(rows: readonly T[], expireAfterDays: number | undefined, nowMs: number): T[] {
  if (!expireAfterDays) return [];
  const ttl = expireAfterDays * 86_400_000;
  return rows.filter((r) => ACTIVE_STATES.includes(r.state) && Date.parse(r.lastPushAt) + ttl <= nowMs);
}

/**
 * Pure (issue 19). The active previews opened for `branch` of the project's own repository: a
 * branch-opened preview (served, or `berth preview create --branch`), or a pull request whose
 * head is that branch of the base repository itself. A fork's branch of the same name is another
 * branch: a deletion in the base repository never destroys it. `branch` undefined: every such
 * preview, with its branch (for comparing against the branches that still exist).
 */
export function branchPreviews<T extends { readonly state: PreviewState; readonly source: "github" | "served"; readonly branch: string; readonly headRepo: string; readonly baseRepo: string }>(
  rows: readonly T[],
  branch?: string,
): T[] {
  return rows.filter(
    (r) => ACTIVE_STATES.includes(r.state) && r.branch !== "" && (branch === undefined || r.branch === branch) && (r.source === "served" || (r.headRepo !== "" && r.headRepo === r.baseRepo)),
  );
}

/** A commit status in GitHub's API shape (POST /repos/{owner}/{repo}/statuses/{sha}). */
export interface CommitStatus {
  readonly state: "pending" | "success" | "failure" | "error";
  readonly description: string;
  readonly context: string;
  readonly target_url?: string;
}

export const STATUS_CONTEXT = "berth/preview";

/** Pure. The status a preview's state is reported as; GitHub cuts descriptions at 140 characters. */
export function commitStatus(state: PreviewState | "refused", detail: string | null, url: string | undefined): CommitStatus {
  const words: Record<PreviewState | "refused", [CommitStatus["state"], string]> = {
    "awaiting-approval": ["pending", "Preview waits for a maintainer's approval"],
    deploying: ["pending", "Preview is deploying"],
    live: ["success", "Preview is live"],
    "data-failed": ["failure", "Preview data step failed: no traffic"],
    failed: ["failure", "Preview deploy failed"],
    refused: ["error", "No preview"],
    destroying: ["success", "Preview is being removed"],
    destroyed: ["success", "Preview removed"],
  };
  const [s, text] = words[state];
  const description = (detail ? `${text}: ${detail}` : text).slice(0, 140);
  return { state: s, description, context: STATUS_CONTEXT, ...(url ? { target_url: url } : {}) };
}

/** Pure. True when `branch` matches one of `globs` (`*` within a path segment, `**` across them). */
export function branchMatches(branch: string, globs: readonly string[]): boolean {
  return globs.some((g) => {
    const re = g
      .split("**")
      .map((part) => part.split("*").map((t) => t.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*"))
      .join(".*");
    return new RegExp(`^${re}$`).test(branch);
  });
}
