/**
 * `berth git remote` and `berth git webhook-secret` as a separate process against a real daemon:
 * the served repository's path is printed (and exists), and only the owner gets a webhook secret.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { berth as run } from "../helpers/cli.ts";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.ts";

/** The compiled CLI with this file's daemon in its environment. */
const berth = (args: string[], env: Record<string, string>) => run(args, { env });

describe("berth git", () => {
  let t: TestDaemon;
  let env: Record<string, string>;
  before(async () => {
    t = await startTestDaemon({ listen: true });
    env = { BERTH_URL: t.daemon.url, BERTH_TOKEN: t.token };
  });
  after(() => t.close());

  test("remote prints the served repository's path", async () => {
    const r = await berth(["git", "remote", "--project", "cli-app"], env);
    assert.equal(r.status, 0, r.stderr);
    const path = r.stdout.trim();
    assert.equal(path, join(t.dataDir, "git", "cli-app.git"));
    assert.ok(existsSync(join(path, "HEAD")));
    assert.match(r.stderr, /git push berth main/);
  });

  test("webhook-secret prints a new secret for the owner, and refuses a deployer", async () => {
    const r = await berth(["git", "webhook-secret", "--project", "cli-app"], env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.trim(), /^[0-9a-f]{64}$/);
    const deployer = t.daemon.store.tokens.create({ name: "ci", role: "deployer" }, new Date().toISOString()).token;
    const refused = await berth(["git", "webhook-secret", "--project", "cli-app"], { ...env, BERTH_TOKEN: deployer });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /BERTH_FORBIDDEN|forbidden|owner/i);
  });

  test("a branch that is an option is refused before git runs", async () => {
    const r = await berth(["git", "remote", "--project", "cli-app", "--branch=--upload-pack=x"], env);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /not a valid git branch/);
  });
});
