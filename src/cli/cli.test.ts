/**
 * The compiled CLI (`bin/berth`) against a daemon under test: one-line errors, exit codes, the
 * token commands. Every command's --help and the README's commands: test/cli/smoke.test.ts.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { berth } from "../../test/helpers/cli.ts";
import { startTestDaemon, type TestDaemon } from "../../test/helpers/daemon.ts";

describe("the berth CLI", () => {
  let t: TestDaemon;
  before(async () => {
    t = await startTestDaemon({ listen: true });
  });
  after(() => t.close());

  test("an unknown command exits non-zero with one line naming the nearest command", async () => {
    const r = await berth(["stauts"]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.match(r.stderr, /unknown command 'stauts' \(did you mean status\?\)/);
  });

  test("an unknown flag exits non-zero with one line naming the nearest flag", async () => {
    const r = await berth(["status", "--jsn"]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.match(r.stderr, /--json/);
  });

  test("status --json against a daemon, with the token from the environment", async () => {
    const r = await berth(["status", "--json"], { env: { BERTH_URL: t.daemon.url, BERTH_TOKEN: t.token } });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { environments: [], operations: [], pendingDeploys: [], previews: [] });
  });

  test("a bad token exits with the auth exit code and a hint", async () => {
    const r = await berth(["status"], { env: { BERTH_URL: t.daemon.url, BERTH_TOKEN: "berth_wrong" } });
    assert.equal(r.status, 3);
    assert.match(r.stderr, /BERTH_UNAUTHENTICATED/);
    assert.match(r.stderr, /hint: .*berth login/);
  });

  test("no daemon: a clear error and the unavailable exit code", async () => {
    const r = await berth(["status"], { env: { BERTH_URL: "http://127.0.0.1:1", BERTH_TOKEN: "berth_x" } });
    assert.equal(r.status, 6);
    assert.match(r.stderr, /cannot reach the Berth daemon/);
  });

  test("token create, list and revoke", async () => {
    const env = { env: { BERTH_URL: t.daemon.url, BERTH_TOKEN: t.token } };
    const created = await berth(["token", "create", "ci", "--role", "deployer", "--json"], env);
    assert.equal(created.status, 0, created.stderr);
    assert.match(JSON.parse(created.stdout).token, /^berth_/);
    const listed = await berth(["token", "list"], env);
    assert.match(listed.stdout, /ci\s+deployer/);
    assert.doesNotMatch(listed.stdout, /berth_/);
    assert.equal((await berth(["token", "revoke", "ci"], env)).status, 0);
  });
});
