/**
 * Issue 5, auto-deploy from a repository Berth serves: a push to the bare repository deploys the
 * pushed commit to the environment following the branch (observed on the instances' ports), a
 * commit outside the service's build filter cuts no release, and a push to another branch
 * deploys the environment that follows that one.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { httpHealthGate } from "../../src/deploy/health-gate.ts";
import { LocalEngine } from "../../src/engine/local/local-engine.ts";
import { startTestDaemon, type TestDaemon, tempDir } from "../helpers/daemon.ts";
import { blueprint, commit, gitIn, initRepo, revisions, SERVER, waitForBody } from "./helpers.ts";

describe("push to a served repository", () => {
  let t: TestDaemon;
  let work: string;
  let remote: string;
  before(async () => {
    const stateDir = tempDir();
    t = await startTestDaemon({ engine: ({ bus, openEnv }) => new LocalEngine({ stateDir, events: bus, openEnv, sandbox: false }), health: httpHealthGate });
    work = initRepo(join(tempDir(), "work"));
  });
  after(() => t.close());

  test("berth serves a bare repository per project and says where to push", async () => {
    const r = await t.request("POST", "/v1/projects/pushy/git", {});
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.served, true);
    assert.equal(r.json.branch, "main");
    remote = r.json.url;
    assert.equal(remote, join(t.dataDir, "git", "pushy.git"));
    const again = await t.request("GET", "/v1/projects/pushy/git");
    assert.deepEqual(again.json, r.json);
  });

  test("a push to main deploys the pushed commit to production", async () => {
    const sha = commit(work, { "berth.yaml": blueprint("pushy"), "server.js": SERVER, VERSION: "v1" }, "first");
    gitIn(work, ["push", "--quiet", remote, "main"]);
    await waitForBody(t, "pushy", "v1");
    assert.deepEqual(revisions(t, "pushy"), { web: sha });
    assert.equal(t.daemon.store.environments.byName("pushy", "staging"), undefined, "staging follows develop");
  });

  test("the next push deploys the new commit", async () => {
    const sha = commit(work, { VERSION: "v2" }, "second");
    gitIn(work, ["push", "--quiet", remote, "main"]);
    await waitForBody(t, "pushy", "v2");
    assert.deepEqual(revisions(t, "pushy"), { web: sha });
    const deploys = (await t.request("GET", "/v1/projects/pushy/environments/production/deploys")).json as { status: string; release: number }[];
    assert.deepEqual(deploys.map((d) => [d.release, d.status]), [[2, "live"], [1, "live"]]);
  });

  test("a commit only under ignoredPaths keeps the service's revision: no new release", async () => {
    const before = revisions(t, "pushy").web;
    const sha = commit(work, { "docs/notes.md": "nothing to build" }, "docs");
    gitIn(work, ["push", "--quiet", remote, "main"]);
    const deadline = Date.now() + 20_000;
    const projectId = t.daemon.store.projects.require("pushy").id;
    while (t.daemon.git.lastSynced(projectId, "main") !== sha) {
      assert.ok(Date.now() < deadline, "the push was never synced");
      await new Promise((r) => setTimeout(r, 100));
    }
    await t.daemon.reconciler.whenIdle();
    assert.equal(revisions(t, "pushy").web, before);
    const deploys = (await t.request("GET", "/v1/projects/pushy/environments/production/deploys")).json as unknown[];
    assert.equal(deploys.length, 2);
  });

  test("a push to develop deploys staging, not production", async () => {
    gitIn(work, ["checkout", "--quiet", "-b", "develop"]);
    const sha = commit(work, { VERSION: "v3-staging" }, "staging");
    gitIn(work, ["push", "--quiet", remote, "develop"]);
    await waitForBody(t, "pushy", "v3-staging", 30_000, "staging");
    assert.deepEqual(revisions(t, "pushy", "staging"), { web: sha });
    assert.notEqual(revisions(t, "pushy").web, sha);
  });
});
