/**
 * Approval gates end to end (issue 19), through the compiled CLI against a real daemon (memory
 * engine): `berth deploy` to an environment with `approval: required` records a held deploy and
 * nothing else; a newer deploy supersedes it (status says so); the held deploy survives a daemon
 * restart; a viewer and a deployer cannot approve it, nor can an owner of another project; an
 * owner approves it, the release goes live, and the audit log and the events say who and when.
 */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { berth, type CliRun, scratch } from "../helpers/cli.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";

const BLUEPRINT = `version: 1
project: shop
services:
  web:
    type: web
    start: node server.js
    env:
      GREETING: hello
environments:
  staging: { branch: develop }
  production: { branch: main, approval: required }
`;
const server = (v: string) => `require("node:http").createServer((q, s) => s.end("${v}")).listen(process.env.PORT);\n`;

describe("an environment that requires approval", () => {
  const dataDir = tempDir("berth-approval-");
  const world = scratch("berth-approval-cli-");
  const dir = writeProject(join(world.dir, "shop"), BLUEPRINT, { "server.js": server("v1") });
  let t: TestDaemon;
  const tokens: Record<"alice" | "carol" | "vic" | "olga", string> = { alice: "", carol: "", vic: "", olga: "" };
  const cli = (who: keyof typeof tokens, args: string[]): Promise<CliRun> =>
    berth(args, { scratch: world, cwd: dir, env: { BERTH_URL: t.daemon.url, BERTH_TOKEN: tokens[who], BERTH_CLI_CONFIG: "/nonexistent/cli.json" } });
  const ok = (r: CliRun, what: string) => assert.equal(r.status, 0, `${what}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  const heldId = (r: CliRun) => /deploy (pdep_[a-z0-9]+) .* is pending/.exec(r.stdout)?.[1];
  let first = "";
  let second = "";

  before(async () => {
    t = await startTestDaemon({ dataDir, listen: true });
    const now = new Date().toISOString();
    tokens.alice = t.daemon.store.tokens.create({ name: "alice", role: "owner" }, now).token;
    tokens.carol = t.daemon.store.tokens.create({ name: "carol-ci", role: "deployer" }, now).token;
    tokens.vic = t.daemon.store.tokens.create({ name: "vic", role: "viewer" }, now).token;
    tokens.olga = t.daemon.store.tokens.create({ name: "olga", role: "owner", projects: ["blog"] }, now).token;
  });
  after(async () => {
    await t?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("an environment without the gate deploys at once (and records the project and its directory)", async () => {
    const r = await cli("alice", ["deploy", "--env", "staging"]);
    ok(r, "berth deploy --env staging");
    assert.match(r.stderr, /shop\/staging: live/);
  });

  test("a deploy is held as pending and records nothing; a newer one supersedes it", async () => {
    const a = await cli("alice", ["deploy", "--env", "production"]);
    ok(a, "berth deploy --env production");
    first = heldId(a) ?? "";
    assert.ok(first, `a held deploy id in: ${a.stdout}`);
    assert.match(a.stdout, /shop\/production requires approval/);
    assert.match(a.stdout, new RegExp(`berth approve ${first}`));
    assert.equal((await t.request("GET", "/v1/projects/shop/environments/production")).status, 404, "nothing recorded for production");

    writeFileSync(join(dir, "server.js"), server("v2"));
    const b = await cli("carol", ["deploy", "--env", "production"]);
    ok(b, "a deployer's deploy");
    second = heldId(b) ?? "";
    assert.ok(second && second !== first);

    const status = await cli("vic", ["status", "--env", "production"]);
    ok(status, "berth status");
    assert.match(status.stdout, new RegExp(`${first}\\s+shop/production\\s+.*superseded by ${second}`));
    assert.match(status.stdout, new RegExp(`${second}\\s+shop/production\\s+deploy from \\S+/shop\\s+carol-ci.*pending approval`));
    const events = (await t.request("GET", "/v1/events?project=shop&limit=100")).json as { type: string; actor: string; data: Record<string, unknown> }[];
    assert.ok(events.some((e) => e.type === "deploy:pending" && e.data.id === second && e.actor === "carol-ci"));
    assert.ok(events.some((e) => e.type === "deploy:superseded" && e.data.id === first && e.data.by === second));
  });

  test("the held deploy survives a daemon restart", async () => {
    await t.daemon.stop();
    t = await startTestDaemon({ dataDir, listen: true });
    const list = await cli("vic", ["pending", "--json"]);
    ok(list, "berth pending");
    const rows = JSON.parse(list.stdout) as { id: string; state: string; requestedBy: string }[];
    assert.deepEqual(rows.map((r) => [r.id, r.state, r.requestedBy]), [[second, "pending", "carol-ci"]]);
  });

  test("a viewer, a deployer and an owner of another project cannot approve; a superseded deploy cannot be approved", async () => {
    const viewer = await cli("vic", ["approve", second]);
    assert.equal(viewer.status, 3, viewer.stderr);
    assert.match(viewer.stderr, /token 'vic' with role viewer may not approve deploys held for approval \(deployers request deploys, owners decide them\) \[BERTH_FORBIDDEN\]/);
    assert.match(viewer.stderr, /hint: Use a token with the owner role/);
    const deployer = await cli("carol", ["approve", second]);
    assert.equal(deployer.status, 3, deployer.stderr);
    assert.match(deployer.stderr, /role deployer may not approve deploys held for approval/);
    const rejectByViewer = await cli("vic", ["reject", second]);
    assert.equal(rejectByViewer.status, 3);
    const stranger = await cli("olga", ["approve", second]);
    assert.equal(stranger.status, 4, `an owner scoped to another project does not see it: ${stranger.stderr}`);
    const stale = await cli("alice", ["approve", first]);
    assert.equal(stale.status, 5, stale.stderr);
    assert.match(stale.stderr, new RegExp(`not pending: superseded by ${second} \\[BERTH_DEPLOY_NOT_PENDING\\]`));
    assert.match(stale.stderr, new RegExp(`berth approve ${second}`));
    assert.equal((await t.request("GET", "/v1/projects/shop/environments/production")).status, 404, "still nothing recorded");
  });

  test("an owner approves: the release goes live, and the audit log and events say who and when", async () => {
    const started = new Date().toISOString();
    const r = await cli("alice", ["approve", second]);
    ok(r, "berth approve");
    assert.match(r.stderr, new RegExp(`approved ${second}`));
    assert.match(r.stderr, /shop\/production: live/);
    assert.match(r.stdout, /web\s+web\s+#1\s+1\/1\s+healthy/);
    const env = (await t.request("GET", "/v1/projects/shop/environments/production")).json as { status: string; services: { name: string; release: number }[] };
    assert.equal(env.status, "live");
    assert.deepEqual(env.services.map((s) => [s.name, s.release]), [["web", 1]]);

    const audit = await cli("alice", ["audit", "--json"]);
    ok(audit, "berth audit");
    const rows = JSON.parse(audit.stdout) as { at: string; actor: string; action: string; target: string; project: string | null; status: number }[];
    const approval = rows.find((e) => e.action === "POST /v1/pending-deploys/:id/approve" && e.status === 202);
    assert.ok(approval, `an approval in the audit log: ${audit.stdout}`);
    assert.equal(approval.actor, "alice");
    assert.equal(approval.target, `/v1/pending-deploys/${second}/approve`);
    assert.equal(approval.project, "shop");
    assert.ok(approval.at >= started, `${approval.at} is when it happened`);
    const refused = rows.filter((e) => e.target === `/v1/pending-deploys/${second}/approve` && e.status === 403).map((e) => e.actor).sort();
    assert.deepEqual(refused, ["carol-ci", "vic"], "the refusals are audited too");

    const events = (await t.request("GET", "/v1/events?project=shop&environment=production&limit=200")).json as { type: string; actor: string; at: string; data: Record<string, unknown> }[];
    const approved = events.find((e) => e.type === "deploy:approved");
    assert.equal(approved?.actor, "alice");
    assert.equal(approved?.data.id, second);
    assert.ok(events.some((e) => e.type === "deploy:live"));

    const again = await cli("alice", ["approve", second]);
    assert.equal(again.status, 5);
    assert.match(again.stderr, /already approved by alice/);
    const status = await cli("vic", ["status", "--env", "production"]);
    assert.match(status.stdout, new RegExp(`${second}.*approved by alice \\(generation \\d+\\)`));
  });

  test("a rejected deploy is never recorded", async () => {
    const { generation } = (await t.request("GET", "/v1/projects/shop/environments/production")).json as { generation: number };
    writeFileSync(join(dir, "server.js"), server("v3"));
    const held = heldId(await cli("carol", ["deploy", "--env", "production"]));
    assert.ok(held);
    const r = await cli("alice", ["reject", held, "--reason", "not on a Friday"]);
    ok(r, "berth reject");
    assert.match(r.stdout, new RegExp(`rejected ${held}`));
    const env = (await t.request("GET", "/v1/projects/shop/environments/production")).json as { generation: number; services: { release: number }[] };
    assert.equal(env.generation, generation, "the rejected deploy recorded nothing");
    assert.deepEqual(env.services.map((s) => s.release), [1]);
    const list = JSON.parse((await cli("vic", ["pending", "--all-states", "--json"])).stdout) as { id: string; state: string; reason: string | null; decidedBy: string | null }[];
    assert.deepEqual(list.find((d) => d.id === held), { ...list.find((d) => d.id === held)!, state: "rejected", reason: "not on a Friday", decidedBy: "alice" });
  });

});
