/**
 * Issue 19, previews per pull request end to end (real daemon, local engine, HAProxy, Postgres
 * and Redis): a signed `pull_request` opened -> `pr-7` with its own Postgres and Redis serves at
 * `api-pr-7-shop.localhost` through the router, IS_PULL_REQUEST set, commit statuses posted to a
 * fake forge; a push (synchronize) redeploys; closing it leaves no process, database directory,
 * route or checkout behind (counted before and after); a fork's pull request creates nothing
 * until an owner approves (a viewer cannot).
 *
 * The stack is seed 001's shape (a web api on Postgres 15 + Redis 7, staging following a branch,
 * previews from staging) with a dependency-free server, so no npm install dominates the run.
 */
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { request } from "undici";
import { httpHealthGate } from "../../src/deploy/health-gate.ts";
import { LocalEngine } from "../../src/engine/local/local-engine.ts";
import { startTestDaemon, type TestDaemon, tempDir } from "../helpers/daemon.ts";
import { commit, initRepo } from "../git/helpers.ts";
import { alive, checkoutsIn, fakeForge, freePort, PREVIEW_SERVER, previewBlueprint, processesNaming, pushPull } from "./helpers.ts";

describe("previews per pull request", () => {
  let t: TestDaemon;
  let repo: string;
  let secret: string;
  let port: number;
  let forge: Awaited<ReturnType<typeof fakeForge>>;
  const project = "shop";
  const sign = (body: string) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
  const deliver = async (event: string, payload: unknown) => {
    const body = JSON.stringify(payload);
    const res = await t.daemon.api.inject({ method: "POST", url: `/v1/hooks/github/${project}`, headers: { "content-type": "application/json", "x-github-event": event, "x-github-delivery": randomUUID(), "x-hub-signature-256": sign(body) }, payload: body });
    return { status: res.statusCode, json: JSON.parse(res.body) as Record<string, any> };
  };
  const pr = (action: string, number: number, sha: string, headRepo = "acme/shop", merged = false) => ({
    action,
    number,
    pull_request: { merged, head: { sha, ref: `feature-${number}`, repo: { full_name: headRepo } }, base: { repo: { full_name: "acme/shop" } } },
    sender: { login: "dev" },
  });
  /** A GET through HAProxy with the generated host of `environment`'s api. */
  const viaRouter = async (environment: string) => {
    // undici's request: fetch() drops a Host header.
    const res = await request(`http://127.0.0.1:${port}/`, { headers: { host: `api-${environment}-${project}.localhost:${port}` } });
    return { status: res.statusCode, body: await res.body.text() };
  };
  const checkouts = () => checkoutsIn(t.dataDir);

  before(async () => {
    port = await freePort();
    forge = await fakeForge();
    const stateDir = tempDir();
    t = await startTestDaemon({ engine: ({ bus, openEnv }) => new LocalEngine({ stateDir, events: bus, openEnv, sandbox: false }), health: httpHealthGate, routerHttpPort: port });
    repo = initRepo(join(tempDir(), "shop"));
    commit(repo, { "berth.yaml": previewBlueprint(project), "server.js": PREVIEW_SERVER, VERSION: "staging-v1" }, "first");
    assert.equal((await t.request("POST", `/v1/projects/${project}/git`, { url: repo, branch: "main" })).status, 200);
    secret = (await t.request("POST", `/v1/projects/${project}/git/webhook-secret`, {})).json.secret;
    const f = await t.request("POST", `/v1/projects/${project}/previews/forge`, { token: "forge-token-123", apiUrl: forge.url });
    assert.equal(f.status, 200, JSON.stringify(f.json));
    // A project-wide (`*`) value: staging gets it; a preview must not.
    const p = t.daemon.store.projects.require(project);
    for (const [name, value] of [["PAYMENT_KEY", "sk_live_production_value"], ["PAYMENT_MODE", "production-mode-value"]]) {
      t.daemon.secrets!.store.set({ project: { id: p.id, name: p.name }, environment: "*", owner: "service:api", name: name! }, value!, "test");
    }
    const d = await t.request("POST", `/v1/projects/${project}/git/deploy`, {});
    const op = await t.daemon.operations.wait(d.json.id);
    assert.equal(op.state, "succeeded", JSON.stringify(op.error));
    await t.daemon.reconciler.whenIdle();
  });
  after(async () => {
    await t?.close();
    await forge?.close();
  });

  test("opening PR 7 creates pr-7 with its own Postgres and Redis, served through the router, status posted", async () => {
    let first = await viaRouter("staging");
    for (let i = 0; i < 100 && first.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 200));
      first = await viaRouter("staging");
    }
    const envs = (await t.request("GET", `/v1/projects/${project}/environments/staging`)).json;
    assert.equal(first.status, 200, `${first.body} ${JSON.stringify(envs).slice(0, 800)}`);
    const staging = JSON.parse(first.body);
    assert.equal(staging.version, "staging-v1");
    assert.equal(staging.key, "sk_live_production_value");
    assert.equal(staging.pr, null);
    const sha = pushPull(repo, 7, { VERSION: "pr7-v1" });
    const r = await deliver("pull_request", pr("opened", 7, sha));
    assert.equal(r.status, 202, JSON.stringify(r.json));
    assert.equal(r.json.decision, "deploy");
    assert.equal(r.json.preview, "pr-7");
    const op = await t.daemon.operations.wait(r.json.operation);
    assert.equal(op.state, "succeeded", JSON.stringify(op.error));
    assert.equal((op.result as { state: string }).state, "live", JSON.stringify(op.result));
    const res = await viaRouter("pr-7");
    assert.equal(res.status, 200, res.body);
    const body = JSON.parse(res.body);
    assert.equal(body.version, "pr7-v1");
    assert.equal(body.pr, "true");
    assert.equal(body.preview, "true");
    assert.equal(body.number, "7");
    assert.equal(body.redis, "PONG");
    assert.notEqual(body.db.split("/")[0], staging.db.split("/")[0], "its own Postgres server");
    // Secrets: none of the base's; previewValue taken; the unset ones listed in its status.
    assert.equal(body.key, "");
    assert.equal(body.mode, "test");
    const list = (await t.request("GET", `/v1/projects/${project}/previews`)).json as { number: number; state: string; unsetSecrets: string[] }[];
    assert.deepEqual(list.map((p) => [p.number, p.state]), [[7, "live"]]);
    assert.deepEqual(list[0]!.unsetSecrets, ["services.api.env.PAYMENT_KEY"]);
    const mine = forge.statuses.filter((s) => s.path === `/repos/acme/shop/statuses/${sha}`);
    assert.deepEqual(mine.map((s) => s.body.state), ["pending", "success"]);
    assert.equal(mine[1]!.body.context, "berth/preview");
    assert.equal(mine[1]!.auth, "Bearer forge-token-123");
    assert.match(mine[1]!.body.target_url ?? "", /api-pr-7-shop\.localhost/);
  });

  test("a push to the pull request redeploys the preview", async () => {
    const sha = pushPull(repo, 7, { VERSION: "pr7-v2" });
    const r = await deliver("pull_request", pr("synchronize", 7, sha));
    assert.equal(r.json.decision, "deploy");
    const op = await t.daemon.operations.wait(r.json.operation);
    assert.equal(op.state, "succeeded", JSON.stringify(op.error));
    assert.equal(JSON.parse((await viaRouter("pr-7")).body).version, "pr7-v2");
  });

  test("closing it removes every process, database directory, route and checkout of the preview", async () => {
    const resources = join(t.dataDir, "resources", project, "pr-7");
    const env = t.daemon.store.environments.byName(project, "pr-7")!;
    const instances = (await t.daemon.engine.actual({ project, environment: "pr-7" })).flatMap((s) => s.instances.map((i) => i.pid ?? 0)).filter(Boolean);
    // Postgres names its data directory on its command line; Redis retitles itself `redis-server host:port`.
    const redisPort = JSON.parse((await viaRouter("pr-7")).body).redisPort as string;
    const datastores = () => processesNaming(resources).length + processesNaming(`redis-server 127.0.0.1:${redisPort}`).length;
    const before = { instances: instances.length, datastores: datastores(), dirs: existsSync(resources), checkouts: checkouts().length, route: (await viaRouter("pr-7")).status };
    assert.ok(before.instances >= 1 && before.datastores >= 2 && before.dirs && before.route === 200, JSON.stringify(before));
    const stagingCheckouts = checkouts().length;
    const r = await deliver("pull_request", pr("closed", 7, t.daemon.store.previews.byNumber(project, 7)!.headSha, "acme/shop", true));
    assert.equal(r.json.decision, "destroy");
    const op = await t.daemon.operations.wait(r.json.operation);
    assert.equal(op.state, "succeeded", JSON.stringify(op.error));
    await t.daemon.reconciler.whenIdle();
    const afterCount = {
      instances: instances.filter(alive).length,
      datastores: datastores(),
      dirs: existsSync(resources) || existsSync(join(t.dataDir, "backups", project, "pr-7")),
      environment: !!t.daemon.store.environments.byId(env.id),
      route: (await viaRouter("pr-7")).status,
      prCheckouts: stagingCheckouts - checkouts().length,
    };
    assert.deepEqual({ ...afterCount, route: afterCount.route === 200 }, { instances: 0, datastores: 0, dirs: false, environment: false, route: false, prCheckouts: 2 });
    assert.equal(t.daemon.store.previews.byNumber(project, 7)!.state, "destroyed");
    // The parent is untouched.
    assert.equal(JSON.parse((await viaRouter("staging")).body).version, "staging-v1");
  });

  test("a fork's pull request creates nothing until an owner approves; a viewer cannot", async () => {
    const sha = pushPull(repo, 8, { VERSION: "fork-v1" });
    const r = await deliver("pull_request", pr("opened", 8, sha, "mallory/shop"));
    assert.equal(r.status, 202);
    assert.equal(r.json.decision, "await-approval");
    assert.equal(r.json.operation, null);
    await t.daemon.operations.whenIdle();
    assert.equal(t.daemon.store.environments.byName(project, "pr-8"), undefined);
    assert.ok(!checkouts().includes(sha), "nothing of the fork is checked out");
    assert.ok(!existsSync(join(t.dataDir, "resources", project, "pr-8")));
    const viewer = t.daemon.store.tokens.create({ name: "viewer", role: "viewer" }, new Date().toISOString()).token;
    const denied = await t.request("POST", `/v1/projects/${project}/previews/8/approve`, {}, viewer);
    assert.equal(denied.status, 403, JSON.stringify(denied.json));
    assert.equal(t.daemon.store.environments.byName(project, "pr-8"), undefined);
    const ok = await t.request("POST", `/v1/projects/${project}/previews/8/approve`, {});
    assert.equal(ok.status, 202, JSON.stringify(ok.json));
    const op = await t.daemon.operations.wait(ok.json.operation.id);
    assert.equal(op.state, "succeeded", JSON.stringify(op.error));
    assert.equal(JSON.parse((await viaRouter("pr-8")).body).version, "fork-v1");
    assert.ok(t.daemon.store.previews.byNumber(project, 8)!.approvedBy);
    const statuses = forge.statuses.filter((s) => s.path.endsWith(sha)).map((s) => s.body.state);
    assert.deepEqual(statuses, ["pending", "pending", "success"]);
  });
});
