/**
 * Issue 19: `mode: manual` previews through the compiled CLI (`bin/berth preview create|list|
 * destroy`, `berth status`), the per-project cap refused end to end (`BERTH_PREVIEW_LIMIT`, exit
 * 5, a `preview:refused` event), expiry (`expireAfterDays`, with the daemon's clock moved three
 * days on) destroying a preview, and `seed` data running `initialDeploy` once per preview.
 *
 * A real daemon over loopback with the memory engine and no datastores: what is tested is the
 * preview workflow, not processes (test/previews/pull-request.test.ts runs those).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { berth as run } from "../helpers/cli.ts";
import { startTestDaemon, type TestDaemon, tempDir } from "../helpers/daemon.ts";
import { commit, gitIn, initRepo } from "../git/helpers.ts";

const project = "lab";
const blueprint = (version: string) => `version: 1
project: ${project}
services:
  web:
    type: web
    start: node server.js
    initialDeploy: node seed.js ${version}
environments:
  staging: { branch: main }
previews:
  mode: manual
  baseEnvironment: staging
  maxPreviews: 1
  expireAfterDays: 2
  data: { mode: seed }
`;

describe("berth preview (manual mode, cap, expiry, seed)", () => {
  let t: TestDaemon;
  let env: Record<string, string>;
  let repo: string;
  let offsetMs = 0;
  const berth = (args: string[]) => run(args, { env });
  const branch = (name: string, version: string) => {
    gitIn(repo, ["checkout", "--quiet", "-B", name]);
    const sha = commit(repo, { "berth.yaml": blueprint(version), VERSION: version }, version);
    gitIn(repo, ["checkout", "--quiet", "main"]);
    return sha;
  };
  const initialDeploys = (environment: string) => {
    const e = t.daemon.store.environments.byName(project, environment);
    const svc = e && t.daemon.store.services.list(e.id).find((s) => s.name === "web");
    return svc ? t.daemon.store.runs.list(svc.id).filter((r) => r.kind === "initialDeploy") : [];
  };

  before(async () => {
    // The daemon's clock runs with the wall clock, plus an offset the expiry test moves.
    t = await startTestDaemon({ listen: true, clock: { now: () => Date.now() + offsetMs } });
    env = { BERTH_URL: t.daemon.url, BERTH_TOKEN: t.token };
    repo = initRepo(join(tempDir(), "lab"));
    commit(repo, { "berth.yaml": blueprint("staging"), "server.js": "", "seed.js": "", VERSION: "staging" }, "first");
    assert.equal((await t.request("POST", `/v1/projects/${project}/git`, { url: repo, branch: "main" })).status, 200);
    const d = await t.request("POST", `/v1/projects/${project}/git/deploy`, {});
    assert.equal((await t.daemon.operations.wait(d.json.id)).state, "succeeded");
    await t.daemon.reconciler.whenIdle();
  });
  after(() => t?.close());

  test("`preview create` opens a manual preview of a branch; list and status show it", async () => {
    const sha = branch("feature-a", "a1");
    const r = await berth(["preview", "create", "3", "--branch", "feature-a", "--project", project]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /lab\/pr-3: live/);
    assert.match(r.stderr, /preview \S+: succeeded/, "progress lines");
    const row = t.daemon.store.previews.byNumber(project, 3)!;
    assert.deepEqual([row.state, row.headSha, row.source, row.branch], ["live", sha, "served", "feature-a"]);
    const list = await berth(["preview", "list", "--project", project]);
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`lab/pr-3 +feature-a +${sha.slice(0, 12)} +live`));
    const json = JSON.parse((await berth(["preview", "list", "--project", project, "--json"])).stdout) as { number: number; state: string; commit: string; data: string }[];
    assert.deepEqual(json.map((p) => [p.number, p.state, p.commit]), [[3, "live", sha]]);
    const status = await berth(["status", "--project", project]);
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /PREVIEW[\s\S]*lab\/pr-3 +feature-a/);
  });

  test("seed: initialDeploy ran once for the preview, not again on a redeploy", async () => {
    assert.equal(initialDeploys("pr-3").length, 1, "seeded on creation");
    branch("feature-a", "a2");
    const r = await berth(["preview", "create", "3", "--branch", "feature-a", "--project", project]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.equal(t.daemon.store.previews.byNumber(project, 3)!.state, "live");
    const runs = initialDeploys("pr-3");
    assert.equal(runs.length, 1, JSON.stringify(runs));
    assert.match(runs[0]!.command, /seed\.js a1/);
  });

  test("a second preview over the cap is refused: BERTH_PREVIEW_LIMIT, exit 5, a preview:refused event, nothing created", async () => {
    branch("feature-b", "b1");
    const r = await berth(["preview", "create", "--branch", "feature-b", "--project", project]);
    assert.equal(r.status, 5, r.stderr + r.stdout);
    assert.match(r.stderr, /BERTH_PREVIEW_LIMIT/);
    assert.match(r.stderr, /runs 1 previews, its cap \(previews\.maxPreviews: 1\)/);
    assert.match(r.stderr, /berth preview destroy/);
    const refused = t.daemon.store.events.list({ project, types: ["preview:refused"] });
    assert.equal(refused.length, 1);
    assert.match(String((refused[0]!.data as { reason: string }).reason), /maxPreviews: 1/);
    assert.deepEqual(t.daemon.store.previews.list({ project }).map((p) => p.number), [3]);
    assert.equal(t.daemon.store.environments.byName(project, "pr-4"), undefined);
    const bad = await berth(["preview", "destroy", "x", "--project", project]);
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /positive integer/);
  });

  test("destroy removes the preview's environment; list shows none", async () => {
    const r = await berth(["preview", "destroy", "3", "--project", project]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /lab\/pr-3: destroyed/);
    assert.equal(t.daemon.store.previews.byNumber(project, 3)!.state, "destroyed");
    assert.equal(t.daemon.store.environments.byName(project, "pr-3"), undefined);
    const list = await berth(["preview", "list", "--project", project]);
    assert.match(list.stdout, /lab has no previews/);
    const missing = await berth(["preview", "destroy", "99", "--project", project]);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /BERTH_NOT_FOUND/);
  });

  test("expiry: a preview with no push for expireAfterDays is destroyed by the expiry beat", async () => {
    branch("feature-c", "c1");
    const r = await t.request("POST", `/v1/projects/${project}/previews`, { branch: "feature-c" });
    assert.equal(r.status, 202, JSON.stringify(r.json));
    assert.equal((await t.daemon.operations.wait(r.json.operation.id)).state, "succeeded");
    const n = r.json.preview.number as number;
    assert.equal(t.daemon.store.previews.byNumber(project, n)!.state, "live");
    assert.deepEqual(t.daemon.previews.expire(), [], "not expired yet");
    offsetMs = 3 * 86_400_000;
    const ops = t.daemon.previews.expire();
    assert.equal(ops.length, 1);
    assert.equal((await t.daemon.operations.wait(ops[0]!.id)).state, "succeeded");
    const row = t.daemon.store.previews.byNumber(project, n)!;
    assert.equal(row.state, "destroyed");
    assert.match(row.detail ?? "", /no push for 2 days/);
    assert.equal(t.daemon.store.environments.byName(project, `pr-${n}`), undefined);
    assert.equal(t.daemon.store.events.list({ project, types: ["preview:destroyed"] }).length, 2);
  });
});
