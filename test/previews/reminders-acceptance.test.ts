/**
 * Issue 19's acceptance run on seed 001's own example (examples/reminders, not a look-alike):
 * staging deployed from `develop`; a signed `pull_request` opened for PR 7 -> `pr-7` with its own
 * Postgres and Redis serves at `api-pr-7-reminders.localhost` (/health: database and redis up)
 * and `web-pr-7-reminders.localhost`; a push to the PR (synchronize) redeploys it (new releases
 * of the new commit); closing it leaves no process, database directory, route or checkout of
 * the preview (counted before and after), and staging keeps serving.
 *
 * Slow: real npm installs and a Next.js build (staging, then the preview's commit, twice).
 */
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { cpSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { httpHealthGate } from "../../src/deploy/health-gate.ts";
import { LocalEngine } from "../../src/engine/local/local-engine.ts";
import { startTestDaemon, type TestDaemon, tempDir } from "../helpers/daemon.ts";
import { commit, gitIn, initRepo } from "../git/helpers.ts";
import { alive, checkoutsIn, fakeForge, freePort, processesNaming, pushPull } from "./helpers.ts";

const SOURCE = fileURLToPath(new URL("../../examples/reminders", import.meta.url));
const project = "reminders";
const EXTERNAL = ["SQUARE_ACCESS_TOKEN", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_PHONE_NUMBER", "SENDGRID_API_KEY", "OPENAI_API_KEY", "SENTRY_DSN"];

describe("acceptance: a preview of examples/reminders per pull request", () => {
  let t: TestDaemon;
  let repo: string;
  let secret: string;
  let port: number;
  let forge: Awaited<ReturnType<typeof fakeForge>>;
  const sign = (body: string) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
  const deliver = async (event: string, payload: unknown) => {
    const body = JSON.stringify(payload);
    const res = await t.daemon.api.inject({ method: "POST", url: `/v1/hooks/github/${project}`, headers: { "content-type": "application/json", "x-github-event": event, "x-github-delivery": randomUUID(), "x-hub-signature-256": sign(body) }, payload: body });
    return { status: res.statusCode, json: JSON.parse(res.body) as Record<string, any> };
  };
  const pr = (action: string, number: number, sha: string, merged = false) => ({
    action,
    number,
    pull_request: { merged, head: { sha, ref: `feature-${number}`, repo: { full_name: "acme/reminders" } }, base: { repo: { full_name: "acme/reminders" } } },
    sender: { login: "dev" },
  });
  const viaRouter = async (service: string, environment: string, path = "/") => {
    const res = await request(`http://127.0.0.1:${port}${path}`, { headers: { host: `${service}-${environment}-${project}.localhost:${port}` } });
    return { status: res.statusCode, body: await res.body.text() };
  };
  const checkouts = () => checkoutsIn(t.dataDir);
  const dbPort = async (environment: string) => (await t.request("GET", `/v1/projects/${project}/environments/${environment}/databases/db/url`)).json.port as number;
  const releaseOf = (environment: string, service: string) => {
    const env = t.daemon.store.environments.byName(project, environment)!;
    const svc = t.daemon.store.services.list(env.id).find((s) => s.name === service)!;
    return t.daemon.store.releases.byId(svc.desiredReleaseId!)!;
  };

  before(async () => {
    port = await freePort();
    forge = await fakeForge();
    const stateDir = tempDir();
    t = await startTestDaemon({ engine: ({ bus, openEnv }) => new LocalEngine({ stateDir, events: bus, openEnv, sandbox: false }), health: httpHealthGate, routerHttpPort: port });
    repo = initRepo(join(tempDir(), project));
    cpSync(SOURCE, repo, { recursive: true, filter: (src) => !/\/(node_modules|\.next)(\/|$)/.test(src) });
    commit(repo, {}, "examples/reminders");
    gitIn(repo, ["branch", "develop"]);
    assert.equal((await t.request("POST", `/v1/projects/${project}/git`, { url: repo, branch: "main" })).status, 200);
    secret = (await t.request("POST", `/v1/projects/${project}/git/webhook-secret`, {})).json.secret;
    assert.equal((await t.request("POST", `/v1/projects/${project}/previews/forge`, { token: "forge-token", apiUrl: forge.url })).status, 200);
    // Staging's secrets (a preview gets none of them: they are empty there).
    const p = t.daemon.store.projects.require(project);
    const set = (owner: string, name: string) => t.daemon.secrets!.store.set({ project: { id: p.id, name: p.name }, environment: "*", owner: owner as never, name }, `staging-${name.toLowerCase()}`, "test");
    set("service:web", "NEXT_PUBLIC_POSTHOG_KEY");
    for (const name of EXTERNAL) set("group:external", name);
    const d = await t.request("POST", `/v1/projects/${project}/git/deploy`, { branch: "develop" });
    assert.equal(d.status, 202, JSON.stringify(d.json));
    const op = await t.daemon.operations.wait(d.json.id);
    assert.equal(op.state, "succeeded", JSON.stringify(op.error));
    await t.daemon.reconciler.whenIdle();
  });
  after(async () => {
    await t?.close();
    await forge?.close();
  });

  test("staging runs the example from develop", async () => {
    const env = t.daemon.store.environments.byName(project, "staging")!;
    assert.equal(env.status, "live", env.statusDetail ?? "");
    let health = await viaRouter("api", "staging", "/health");
    for (let i = 0; i < 100 && health.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 200));
      health = await viaRouter("api", "staging", "/health");
    }
    assert.equal(health.status, 200, health.body);
  });

  test("PR 7 opened: pr-7 with its own Postgres and Redis serves at its URL", async () => {
    const sha = pushPull(repo, 7, { "apps/api/PREVIEW.md": "pull request 7\n" });
    const r = await deliver("pull_request", pr("opened", 7, sha));
    assert.equal(r.status, 202, JSON.stringify(r.json));
    assert.deepEqual([r.json.decision, r.json.preview], ["deploy", "pr-7"]);
    const op = await t.daemon.operations.wait(r.json.operation);
    assert.equal(op.state, "succeeded", JSON.stringify(op.error));
    assert.equal((op.result as { state: string }).state, "live", JSON.stringify(op.result));
    const health = await viaRouter("api", "pr-7", "/health");
    assert.equal(health.status, 200, health.body);
    const body = JSON.parse(health.body);
    assert.equal(body.database.status, "up", health.body);
    assert.equal(body.redis.status, "up", health.body);
    assert.equal((await viaRouter("web", "pr-7")).status, 200);
    assert.notEqual(await dbPort("pr-7"), await dbPort("staging"), "its own Postgres server");
    assert.ok(existsSync(join(t.dataDir, "resources", project, "pr-7", "redis", "cache")), "its own Redis");
    assert.equal(releaseOf("pr-7", "api").number, 1);
    const statuses = forge.statuses.filter((s) => s.path === `/repos/acme/reminders/statuses/${sha}`).map((s) => s.body.state);
    assert.deepEqual(statuses, ["pending", "success"]);
  });

  test("a push to PR 7 redeploys it", async () => {
    const sha = pushPull(repo, 7, { "apps/api/PREVIEW.md": "pull request 7, second push\n" });
    const r = await deliver("pull_request", pr("synchronize", 7, sha));
    assert.equal(r.json.decision, "deploy");
    const op = await t.daemon.operations.wait(r.json.operation);
    assert.equal(op.state, "succeeded", JSON.stringify(op.error));
    const api = releaseOf("pr-7", "api");
    assert.equal(api.number, 2);
    assert.equal((api.config as { inputs: { source: { revision: string } } }).inputs.source.revision, sha);
    assert.equal((await viaRouter("api", "pr-7", "/health")).status, 200);
  });

  test("closing PR 7 removes every process, database directory, route and checkout of the preview", async () => {
    const resources = join(t.dataDir, "resources", project, "pr-7");
    const env = t.daemon.store.environments.byName(project, "pr-7")!;
    const actual = await t.daemon.engine.actual({ project, environment: "pr-7" });
    const instances = actual.flatMap((s) => s.instances.map((i) => i.pid ?? 0)).filter(Boolean);
    // Postgres names its data directory on its command line; Redis retitles itself `redis-server host:port`.
    const redisPort = (JSON.parse(readFileSync(join(resources, "redis", "cache", "state.json"), "utf8")) as { port: number }).port;
    const datastores = () => processesNaming(resources).length + processesNaming(`redis-server 127.0.0.1:${redisPort}`).length;
    /** Lines of the router's current map files (hosts and paths -> backends) naming pr-7. */
    const routes = () => {
      const dir = join(t.dataDir, "router", "gen");
      const latest = String(Math.max(...readdirSync(dir).map(Number)));
      return readdirSync(join(dir, latest))
        .filter((f) => f.endsWith(".map"))
        .flatMap((f) => readFileSync(join(dir, latest, f), "utf8").split("\n"))
        .filter((l) => l.includes("pr-7")).length;
    };
    const before = { services: actual.length, instances: instances.length, datastores: datastores(), dirs: existsSync(resources), checkouts: checkouts().length, routes: routes(), api: (await viaRouter("api", "pr-7", "/health")).status };
    assert.ok(before.services === 4 && before.instances >= 4 && before.datastores >= 2 && before.dirs && before.routes >= 2 && before.api === 200, JSON.stringify(before));
    const r = await deliver("pull_request", pr("closed", 7, t.daemon.store.previews.byNumber(project, 7)!.headSha, true));
    assert.equal(r.json.decision, "destroy");
    const op = await t.daemon.operations.wait(r.json.operation);
    assert.equal(op.state, "succeeded", JSON.stringify(op.error));
    await t.daemon.reconciler.whenIdle();
    const afterCount = {
      instances: instances.filter(alive).length,
      datastores: datastores(),
      dirs: existsSync(resources) || existsSync(join(t.dataDir, "backups", project, "pr-7")),
      environment: !!t.daemon.store.environments.byId(env.id),
      routes: routes(),
      api: (await viaRouter("api", "pr-7", "/health")).status === 200,
      prCheckouts: before.checkouts - checkouts().length,
    };
    assert.deepEqual(afterCount, { instances: 0, datastores: 0, dirs: false, environment: false, routes: 0, api: false, prCheckouts: 2 });
    assert.equal(t.daemon.store.previews.byNumber(project, 7)!.state, "destroyed");
    assert.equal((await viaRouter("api", "staging", "/health")).status, 200, "staging keeps serving");
  });
});
