import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { berth as run } from "../../../test/helpers/cli.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../../../test/helpers/daemon.ts";
import { afterSet, ownerOf, parsePairs, projectOf } from "./env.ts";

/** The compiled CLI with this file's daemon in its environment. */
const berth = (args: string[], env: Record<string, string>, opts: { stdin?: string; cwd?: string } = {}) => run(args, { env, ...opts });

describe("env argument parsing", () => {
  test("KEY=VALUE pairs; KEY=- reads stdin once, without its trailing newline", () => {
    assert.deepEqual(parsePairs(["A=1", "B=x=y", "C=-"], () => "from-stdin\n"), { A: "1", B: "x=y", C: "from-stdin" });
    assert.throws(() => parsePairs(["A=-", "B=-"], () => ""), /only one variable/);
    assert.throws(() => parsePairs(["NOVALUE"], () => ""), /is not KEY=VALUE/);
  });
  test("the owner is the first argument, or --group", () => {
    assert.deepEqual(ownerOf(["api", "A=1"], {}, true), { owner: "service:api", rest: ["A=1"] });
    assert.deepEqual(ownerOf(["A=1"], { group: "ext" }, true), { owner: "group:ext", rest: ["A=1"] });
    // The form the missing-secret error suggests: `berth env set KEY=... --service api`.
    assert.deepEqual(ownerOf(["A=1"], { service: "api" }, true), { owner: "service:api", rest: ["A=1"] });
    assert.throws(() => ownerOf(["A=1"], {}, true), /name the service first/);
  });
  test("after `set`: services reading the values roll; a group no service reads restarts nothing", () => {
    assert.equal(afterSet(["production"], ["production"]), "; services reading them roll in production");
    assert.equal(afterSet(["production", "staging"], []), "; no service reads them, so nothing restarts in production, staging: alert channels and log drains that read them use the new value on their next send");
    assert.equal(afterSet(["production"], undefined), "; services reading them roll in production", "an older daemon sends no `rolls`");
    assert.equal(afterSet([], []), "");
  });
  test("the project comes from --project, $BERTH_PROJECT or ./berth.yaml", () => {
    const dir = writeProject(tempDir(), "version: 1\nproject: from-file\nservices: {}\n");
    assert.equal(projectOf({ project: "flag" }, dir, {}), "flag");
    assert.equal(projectOf({}, dir, { BERTH_PROJECT: "envvar" }), "envvar");
    assert.equal(projectOf({}, dir, {}), "from-file");
    assert.throws(() => projectOf({}, tempDir(), {}), /BERTH_CLI_NO_PROJECT|which project/);
  });
});

describe("berth env and berth audit against a daemon", () => {
  let t: TestDaemon;
  let env: Record<string, string>;
  let dir: string;
  const VALUE = "cli-secret-value-7788";
  before(async () => {
    t = await startTestDaemon({ listen: true });
    env = { BERTH_URL: t.daemon.url, BERTH_TOKEN: t.token };
    const bp = "version: 1\nproject: clidemo\nservices:\n  api:\n    type: web\n    start: node server.js\n    env:\n      TOKEN: { secret: true }\n";
    dir = writeProject(join(tempDir(), "clidemo"), bp, { "server.js": "" });
    assert.equal((await t.request("POST", "/v1/sync", { environment: "production", blueprint: bp, sourceDir: dir })).status, 202);
  });
  after(() => t.close());

  test("set with the value from stdin, list without values, get as owner", async () => {
    const set = await berth(["env", "set", "api", "TOKEN=-", "PLAIN=abc12345"], env, { stdin: `${VALUE}\n`, cwd: dir });
    assert.equal(set.status, 0, set.stderr);
    assert.match(set.stdout, /set TOKEN, PLAIN for service:api \(production\); services reading them roll in production/);
    const list = await berth(["env", "list", "--project", "clidemo", "--json"], env);
    assert.equal(list.status, 0, list.stderr);
    const rows = JSON.parse(list.stdout) as { name: string; source: string; updatedBy: string }[];
    assert.deepEqual(rows.map((r) => r.name).sort(), ["PLAIN", "TOKEN"]);
    assert.ok(!list.stdout.includes(VALUE));
    const human = await berth(["env", "list", "api"], env, { cwd: dir });
    assert.match(human.stdout, /TOKEN\s+service:api\s+production\s+set/);
    const get = await berth(["env", "get", "api", "TOKEN"], env, { cwd: dir });
    assert.equal(get.status, 0, get.stderr);
    assert.equal(get.stdout, `${VALUE}\n`);
    await t.daemon.reconciler.whenIdle();
    const status = await t.request("GET", "/v1/projects/clidemo/environments/production");
    assert.equal(status.json.status, "live", JSON.stringify(status.json));
  });

  test("a deployer cannot get a value (exit code of BERTH_FORBIDDEN, one line and a hint)", async () => {
    const deployer = t.daemon.store.tokens.create({ name: "cli-deployer", role: "deployer" }, new Date().toISOString()).token;
    const r = await berth(["env", "get", "api", "TOKEN", "--project", "clidemo"], { ...env, BERTH_TOKEN: deployer });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /BERTH_FORBIDDEN/);
    assert.ok(!r.stdout.includes(VALUE) && !r.stderr.includes(VALUE));
  });

  test("unset, groups, rotations", async () => {
    const un = await berth(["secret", "unset", "PLAIN", "--service", "api", "--project", "clidemo", "--json"], env);
    assert.deepEqual(JSON.parse(un.stdout).results, [{ name: "PLAIN", removed: true }]);
    assert.equal((await berth(["env", "group", "create", "ext", "--project", "clidemo"], env)).status, 0);
    const gset = await berth(["env", "set", "--group", "ext", "--env", "*", "MAPS=maps-value-1234", "--project", "clidemo"], env);
    assert.equal(gset.status, 0, gset.stderr);
    const glist = await berth(["env", "group", "list", "--project", "clidemo", "--json"], env);
    assert.deepEqual(JSON.parse(glist.stdout).map((g: { name: string }) => g.name), ["ext"]);
    assert.equal((await berth(["env", "group", "rm", "ext", "--project", "clidemo"], env)).status, 0);
    const dk = await berth(["env", "rotate", "--project", "clidemo", "--json"], env);
    assert.equal(dk.status, 0, dk.stderr);
    assert.equal(JSON.parse(dk.stdout).reencrypted, 1);
    const kek = await berth(["env", "rotate", "--kek"], env);
    assert.equal(kek.status, 0, kek.stderr);
    assert.match(kek.stdout, /key-encryption key rotated to kek-[0-9a-f]{16}/);
    assert.equal((await berth(["env", "get", "api", "TOKEN", "--project", "clidemo"], env)).stdout, `${VALUE}\n`);
  });

  test("audit -n and --json list the mutations and secret reads", async () => {
    const r = await berth(["audit", "-n", "200", "--json"], env);
    assert.equal(r.status, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as { actor: string; action: string; status: number }[];
    assert.ok(rows.some((e) => e.action === "GET /v1/projects/:project/environments/:environment/secrets/:owner/:name" && e.status === 200));
    assert.ok(rows.some((e) => e.actor === "cli-deployer" && e.status === 403));
    assert.ok(rows.some((e) => e.action === "POST /v1/secrets/rotate-kek"));
    const two = await berth(["audit", "-n", "2"], env);
    assert.equal(two.stdout.trim().split("\n").length, 3, two.stdout);
    assert.match(two.stdout, /^WHEN\s+ACTOR\s+STATUS/);
  });

  test("every env command has --help", async () => {
    for (const args of [["env"], ["env", "set"], ["env", "unset"], ["env", "list"], ["env", "get"], ["env", "rotate"], ["env", "group"], ["env", "group", "create"], ["audit"]]) {
      const r = await berth([...args, "--help"], {});
      assert.equal(r.status, 0, `${args.join(" ")} --help: ${r.stderr}`);
      assert.match(r.stdout, /Usage: berth/);
    }
  });
});
