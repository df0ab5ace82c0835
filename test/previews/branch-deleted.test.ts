/**
 * Issue 19: a deleted branch destroys the previews opened for it.
 * - Berth's own git server: a push to `feature/*` (previews.branches) opens a preview; deleting
 *   the branch (`git push --delete`) destroys it (the served repository's heads are compared
 *   with the branches previews follow, level-based: the periodic rescan would find it too).
 * - The GitHub webhook: a signed `push` with `deleted: true` for a branch-opened preview's
 *   branch records its destruction and answers with the operation; a deleted branch no preview
 *   follows destroys nothing.
 * A real daemon with the memory engine: what is tested is the workflow, not processes.
 */
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { branchPreviews } from "../../src/deploy/previews.ts";
import { startTestDaemon, type TestDaemon, tempDir } from "../helpers/daemon.ts";
import { commit, gitIn, initRepo } from "../git/helpers.ts";

const blueprint = (project: string, mode: string) => `version: 1
project: ${project}
services:
  web: { type: web, start: node server.js }
environments:
  staging: { branch: main }
previews:
  mode: ${mode}
  baseEnvironment: staging
  branches: ["feature/*"]
`;

async function until<T>(what: string, fn: () => T | undefined, deadlineMs = 20_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("a deleted branch destroys its previews", () => {
  let t: TestDaemon;
  before(async () => {
    t = await startTestDaemon();
  });
  after(() => t?.close());

  test("Berth's git server: push feature/login opens a preview, deleting the branch destroys it", async () => {
    const remote = (await t.request("POST", "/v1/projects/served/git", {})).json.url as string;
    const work = initRepo(join(tempDir(), "served"));
    commit(work, { "berth.yaml": blueprint("served", "automatic"), "server.js": "" }, "first");
    gitIn(work, ["push", "--quiet", remote, "main"]);
    await until("staging", () => (t.daemon.store.environments.byName("served", "staging")?.status === "live" ? true : undefined));
    gitIn(work, ["checkout", "--quiet", "-b", "feature/login"]);
    commit(work, { VERSION: "login" }, "login");
    gitIn(work, ["push", "--quiet", remote, "feature/login"]);
    const opened = await until("the preview to go live", () => {
      const row = t.daemon.store.previews.list({ project: "served" })[0];
      return row?.state === "live" ? row : undefined;
    });
    assert.equal(opened.branch, "feature/login");
    assert.ok(t.daemon.store.environments.byName("served", opened.environment), "its environment exists");
    gitIn(work, ["push", "--quiet", remote, "--delete", "feature/login"]);
    const gone = await until("the preview to be destroyed", () => {
      const row = t.daemon.store.previews.byNumber("served", opened.number);
      return row?.state === "destroyed" ? row : undefined;
    });
    assert.equal(gone.detail, "branch feature/login was deleted");
    assert.equal(t.daemon.store.environments.byName("served", opened.environment), undefined, "its environment is gone");
    const events = t.daemon.store.events.list({ types: ["preview:destroyed"] }) as unknown as { type: string; data: { reason: string } }[];
    assert.ok(events.some((e) => e.type === "preview:destroyed" && e.data.reason === "branch feature/login was deleted"), JSON.stringify(events));
  });

  test("GitHub webhook: a push with deleted: true destroys the branch's preview; an unknown branch destroys nothing", async () => {
    const project = "hooked";
    const repo = initRepo(join(tempDir(), project));
    commit(repo, { "berth.yaml": blueprint(project, "manual"), "server.js": "" }, "first");
    gitIn(repo, ["checkout", "--quiet", "-b", "feature/pay"]);
    commit(repo, { VERSION: "pay" }, "pay");
    gitIn(repo, ["checkout", "--quiet", "main"]);
    assert.equal((await t.request("POST", `/v1/projects/${project}/git`, { url: repo, branch: "main" })).status, 200);
    const secret = (await t.request("POST", `/v1/projects/${project}/git/webhook-secret`, {})).json.secret as string;
    const d = await t.request("POST", `/v1/projects/${project}/git/deploy`, {});
    assert.equal((await t.daemon.operations.wait(d.json.id)).state, "succeeded");
    const created = await t.request("POST", `/v1/projects/${project}/previews`, { branch: "feature/pay", number: 12 });
    assert.equal(created.status, 202, JSON.stringify(created.json));
    assert.equal((await t.daemon.operations.wait(created.json.operation.id)).state, "succeeded");
    assert.equal(t.daemon.store.previews.byNumber(project, 12)?.state, "live");

    const deliver = async (payload: unknown) => {
      const body = JSON.stringify(payload);
      const sig = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
      const res = await t.daemon.api.inject({ method: "POST", url: `/v1/hooks/github/${project}`, headers: { "content-type": "application/json", "x-github-event": "push", "x-github-delivery": randomUUID(), "x-hub-signature-256": sig }, payload: body });
      return { status: res.statusCode, json: JSON.parse(res.body) as Record<string, any> };
    };
    const zero = "0".repeat(40);
    const other = await deliver({ ref: "refs/heads/feature/unknown", before: "a".repeat(40), after: zero, deleted: true });
    assert.equal(other.status, 202);
    assert.deepEqual([other.json.accepted, other.json.decision, other.json.operation], [false, "ignore", null]);
    assert.equal(t.daemon.store.previews.byNumber(project, 12)?.state, "live");

    const r = await deliver({ ref: "refs/heads/feature/pay", before: "a".repeat(40), after: zero, deleted: true });
    assert.equal(r.status, 202, JSON.stringify(r.json));
    assert.deepEqual([r.json.accepted, r.json.decision, r.json.preview, r.json.branch], [true, "destroy", "pr-12", "feature/pay"]);
    // Recorded before the answer: the row says `destroying` (or already `destroyed`).
    assert.ok(["destroying", "destroyed"].includes(t.daemon.store.previews.byNumber(project, 12)!.state));
    const op = await t.daemon.operations.wait(r.json.operation);
    assert.equal(op.state, "succeeded", JSON.stringify(op.error));
    assert.equal(t.daemon.store.previews.byNumber(project, 12)?.state, "destroyed");
    assert.equal(t.daemon.store.environments.byName(project, "pr-12"), undefined);
  });

  test("only branch-opened previews and same-repository pull requests follow a branch (pure)", () => {
    const row = (over: Partial<Parameters<typeof branchPreviews>[0][number]>) => ({ state: "live" as const, source: "served" as const, branch: "feature/x", headRepo: "", baseRepo: "", ...over });
    const rows = [
      row({}),
      row({ source: "github", headRepo: "acme/shop", baseRepo: "acme/shop" }),
      row({ source: "github", headRepo: "someone/shop", baseRepo: "acme/shop" }), // a fork's branch of the same name
      row({ state: "destroyed" }),
      row({ branch: "feature/y" }),
    ];
    assert.deepEqual(branchPreviews(rows, "feature/x"), [rows[0], rows[1]]);
    assert.deepEqual(branchPreviews(rows).map((r) => r.branch), ["feature/x", "feature/x", "feature/y"]);
  });
});
