/**
 * Served repositories are level-based: a push made while the daemon is down is deployed when it
 * starts (heads are compared with the last synced commit in the store), with no hook and no
 * token in the repository. Memory engine: this is about noticing the push, not running it.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { startTestDaemon, type TestDaemon, tempDir } from "../helpers/daemon.ts";
import { blueprint, commit, gitIn, initRepo, revisions, SERVER } from "./helpers.ts";

async function until(what: string, ok: () => boolean, t: TestDaemon, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    assert.ok(Date.now() < deadline, what);
    await t.daemon.git.whenIdle();
    await t.daemon.reconciler.whenIdle();
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("a push while the daemon is down", () => {
  const dataDir = tempDir();
  let t: TestDaemon | undefined;
  after(async () => {
    await t?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("is deployed when the daemon starts again", async () => {
    t = await startTestDaemon({ dataDir });
    const remote = (await t.request("POST", "/v1/projects/later/git", {})).json.url as string;
    const work = initRepo(join(tempDir(), "work"));
    const first = commit(work, { "berth.yaml": blueprint("later"), "server.js": SERVER, VERSION: "v1" });
    gitIn(work, ["push", "--quiet", remote, "main"]);
    const daemon = t;
    await until("the first push is synced", () => revisions(daemon, "later").web === first, daemon);
    await t.close();
    t = undefined;

    const second = commit(work, { VERSION: "v2" });
    gitIn(work, ["push", "--quiet", remote, "main"]);
    // No credential in the served repository: no hook at all besides git's samples.
    const hooks = readdirSync(join(remote, "hooks")).filter((f) => !f.endsWith(".sample"));
    assert.deepEqual(hooks, []);
    assert.ok(!readFileSync(join(remote, "config"), "utf8").includes("token"));

    t = await startTestDaemon({ dataDir });
    const restarted = t;
    await until("the missed push is deployed at start", () => revisions(restarted, "later").web === second, restarted);
    const deploys = (await t.request("GET", "/v1/projects/later/environments/production/deploys")).json as { status: string }[];
    assert.equal(deploys[0]?.status, "live");
  });
});
