/**
 * Each environment follows its branch, and a push to a gated one is held (issue 19): with a
 * repository Berth serves, a push to `develop` deploys staging at once; a push to `main` (whose
 * production requires approval) is held as a pending deploy of that commit; a newer push
 * supersedes it; the held push survives a daemon restart; an owner's approval deploys exactly the
 * commit that was pushed, and a push cannot lift the gate it is held by (memory engine: instances are records, the builds are real).
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestDaemon, type TestDaemon, tempDir } from "../helpers/daemon.ts";
import { commit, gitIn, initRepo, revisions } from "../git/helpers.ts";

const BLUEPRINT = `version: 1
project: gated
services:
  web:
    type: web
    start: node server.js
environments:
  staging: { branch: develop }
  production: { branch: main, approval: required }
`;

interface Held {
  id: string;
  state: string;
  via: string;
  summary: string;
  requestedBy: string;
  supersededBy: string | null;
}

describe("pushes to branches that environments follow", () => {
  const dataDir = tempDir("berth-push-approval-");
  let t: TestDaemon;
  let work: string;
  let remote: string;
  const synced = async (branch: string, sha: string) => {
    const projectId = t.daemon.store.projects.require("gated").id;
    const deadline = Date.now() + 30_000;
    while (t.daemon.git.lastSynced(projectId, branch) !== sha && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(t.daemon.git.lastSynced(projectId, branch), sha, `${branch}@${sha} synced`);
    await t.daemon.git.whenIdle();
    await t.daemon.reconciler.whenIdle();
  };
  const held = async () => (await t.request("GET", "/v1/pending-deploys?project=gated")).json as Held[];

  before(async () => {
    t = await startTestDaemon({ dataDir });
    work = initRepo(join(tempDir(), "work"));
    const r = await t.request("POST", "/v1/projects/gated/git", {});
    assert.equal(r.status, 200, JSON.stringify(r.json));
    remote = r.json.url;
  });
  after(async () => {
    await t?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  let first = "";
  let second = "";
  test("a push to develop deploys staging; a push to main is held for production's approval", async () => {
    const sha = commit(work, { "berth.yaml": BLUEPRINT, "server.js": "// v1\n" }, "first");
    gitIn(work, ["push", "--quiet", remote, "main"]);
    gitIn(work, ["push", "--quiet", remote, "main:develop"]);
    await synced("develop", sha);
    await synced("main", sha);
    assert.deepEqual(revisions(t, "gated", "staging"), { web: sha }, "staging follows develop");
    assert.equal(t.daemon.store.environments.byName("gated", "staging")?.status, "live");
    assert.equal(t.daemon.store.environments.byName("gated", "production"), undefined, "production recorded nothing");
    const [h] = await held();
    assert.deepEqual([h?.state, h?.via, h?.summary, h?.requestedBy], ["pending", "push", `push of main@${sha.slice(0, 12)}`, "git"]);
    first = h!.id;
  });

  test("a newer push supersedes the held one; it survives a daemon restart", async () => {
    const sha = commit(work, { "server.js": "// v2\n" }, "second");
    gitIn(work, ["push", "--quiet", remote, "main"]);
    await synced("main", sha);
    const rows = await held();
    assert.deepEqual(rows.map((r) => [r.state, r.supersededBy]), [["pending", null], ["superseded", rows[0]!.id]]);
    second = rows[0]!.id;
    assert.equal(rows[1]!.id, first);
    await t.daemon.stop();
    t = await startTestDaemon({ dataDir });
    assert.deepEqual((await held()).map((r) => [r.id, r.state]), [[second, "pending"], [first, "superseded"]]);
    const status = (await t.request("GET", "/v1/status")).json as { pendingDeploys: Held[] };
    assert.ok(status.pendingDeploys.some((d) => d.id === second && d.state === "pending"), "status lists it");
  });

  test("an owner's approval deploys exactly the pushed commit", async () => {
    const sha = gitIn(work, ["rev-parse", "HEAD"]);
    const r = await t.request("POST", `/v1/pending-deploys/${second}/approve`, {});
    assert.equal(r.status, 202, JSON.stringify(r.json));
    await t.daemon.reconciler.whenIdle();
    assert.deepEqual(revisions(t, "gated", "production"), { web: sha });
    assert.equal(t.daemon.store.environments.byName("gated", "production")?.status, "live");
  });

  test("a push that deletes `approval: required` is itself held: the recorded gate holds it", async () => {
    const before = revisions(t, "gated", "production");
    const sha = commit(work, { "berth.yaml": BLUEPRINT.replace(", approval: required", ""), "server.js": "// v3\n" }, "lift the gate");
    gitIn(work, ["push", "--quiet", remote, "main"]);
    await synced("main", sha);
    const [newest] = await held();
    assert.deepEqual([newest?.state, newest?.summary], ["pending", `push of main@${sha.slice(0, 12)}`]);
    assert.deepEqual(revisions(t, "gated", "production"), before, "production still runs the approved commit");
  });
});
