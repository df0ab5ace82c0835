/** Issue 19: what pull-request events mean for previews, expiry, commit statuses (pure). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { branchMatches, commitStatus, expiredPreviews, planPullRequest, type PullRequestEvent, readPullRequest } from "./previews.ts";

const SHA = "a".repeat(40);
const ev = (over: Partial<PullRequestEvent> = {}): PullRequestEvent => ({ action: "opened", number: 7, headSha: SHA, headRef: "feature", headRepo: "acme/app", baseRepo: "acme/app", merged: false, sender: "dev", ...over });
const policy = { mode: "automatic" as const, maxPreviews: 3, active: 0 };

describe("planPullRequest", () => {
  test("opened, reopened and synchronize deploy the head; a new one is created, a running one updated", () => {
    assert.deepEqual(planPullRequest(ev(), undefined, policy), { kind: "deploy", create: true });
    assert.deepEqual(planPullRequest(ev({ action: "synchronize" }), { state: "live", approvedSha: null }, { ...policy, active: 1 }), { kind: "deploy", create: false });
    assert.deepEqual(planPullRequest(ev({ action: "reopened" }), { state: "destroyed", approvedSha: null }, policy), { kind: "deploy", create: true });
  });

  test("closed destroys a running preview (merged or not), and nothing else", () => {
    assert.deepEqual(planPullRequest(ev({ action: "closed", merged: true }), { state: "live", approvedSha: null }, policy), { kind: "destroy", reason: "pull request #7 was merged" });
    assert.deepEqual(planPullRequest(ev({ action: "closed" }), { state: "data-failed", approvedSha: null }, policy), { kind: "destroy", reason: "pull request #7 was closed" });
    assert.equal(planPullRequest(ev({ action: "closed" }), undefined, policy).kind, "ignore");
    assert.equal(planPullRequest(ev({ action: "closed" }), { state: "destroyed", approvedSha: null }, policy).kind, "ignore");
  });

  test("other actions and previews turned off change nothing; manual mode only updates running previews", () => {
    assert.equal(planPullRequest(ev({ action: "labeled" }), undefined, policy).kind, "ignore");
    assert.equal(planPullRequest(ev(), undefined, { ...policy, mode: "off" }).kind, "ignore");
    assert.equal(planPullRequest(ev(), undefined, { ...policy, mode: "manual" }).kind, "ignore");
    assert.equal(planPullRequest(ev({ action: "synchronize" }), { state: "live", approvedSha: null }, { ...policy, mode: "manual" }).kind, "deploy");
  });

  test("a new preview over the cap is refused; an existing one is still updated", () => {
    const r = planPullRequest(ev(), undefined, { ...policy, active: 3 });
    assert.equal(r.kind, "refuse");
    assert.match((r as { reason: string }).reason, /maxPreviews: 3/);
    assert.equal(planPullRequest(ev({ action: "synchronize" }), { state: "live", approvedSha: null }, { ...policy, active: 3 }).kind, "deploy");
  });

  test("a fork's pull request waits for approval of exactly its head commit", () => {
    const fork = ev({ headRepo: "mallory/app" });
    const r = planPullRequest(fork, undefined, policy);
    assert.deepEqual(r.kind, "await-approval");
    assert.match((r as { reason: string }).reason, /berth preview approve 7/);
    assert.equal(planPullRequest(fork, { state: "awaiting-approval", approvedSha: SHA }, { ...policy, active: 1 }).kind, "deploy");
    // A later push by the fork needs approving again.
    assert.equal(planPullRequest({ ...fork, action: "synchronize", headSha: "b".repeat(40) }, { state: "live", approvedSha: SHA }, { ...policy, active: 1 }).kind, "await-approval");
  });
});

test("readPullRequest reads GitHub's payload and refuses anything else with a reason", () => {
  const payload = { action: "opened", number: 7, pull_request: { merged: false, head: { sha: SHA, ref: "feature", repo: { full_name: "mallory/app" } }, base: { repo: { full_name: "acme/app" } } }, sender: { login: "mallory" } };
  assert.deepEqual(readPullRequest(payload), { ok: true, event: { action: "opened", number: 7, headSha: SHA, headRef: "feature", headRepo: "mallory/app", baseRepo: "acme/app", merged: false, sender: "mallory" } });
  const bad = readPullRequest({ ...payload, pull_request: { ...payload.pull_request, head: { sha: "HEAD", ref: "x" } } });
  assert.equal(bad.ok, false);
  assert.match((bad as { reason: string }).reason, /pull_request\.head\.sha/);
});

test("expiredPreviews: the last push expireAfterDays ago or earlier, active previews only", () => {
  const now = Date.parse("2026-03-10T00:00:00Z");
  const rows = [
    { id: "a", state: "live" as const, lastPushAt: "2026-03-05T00:00:00Z" },
    { id: "b", state: "live" as const, lastPushAt: "2026-03-05T00:00:01Z" },
    { id: "c", state: "destroyed" as const, lastPushAt: "2026-01-01T00:00:00Z" },
  ];
  assert.deepEqual(expiredPreviews(rows, 5, now).map((r) => r.id), ["a"]);
  assert.deepEqual(expiredPreviews(rows, undefined, now), []);
});

test("commitStatus: GitHub's shape, descriptions cut at 140 characters", () => {
  assert.deepEqual(commitStatus("live", null, "http://api-pr-7-app.localhost"), { state: "success", description: "Preview is live", context: "berth/preview", target_url: "http://api-pr-7-app.localhost" });
  const s = commitStatus("data-failed", "x".repeat(300), undefined);
  assert.equal(s.state, "failure");
  assert.equal(s.description.length, 140);
  assert.equal(commitStatus("awaiting-approval", null, undefined).state, "pending");
});

test("branchMatches: * within a segment, ** across", () => {
  assert.ok(branchMatches("feature/x", ["feature/*"]));
  assert.ok(!branchMatches("feature/x/y", ["feature/*"]));
  assert.ok(branchMatches("feature/x/y", ["feature/**"]));
  assert.ok(!branchMatches("main", ["feature/*"]));
});
