/**
 * Issue 19, `fork` preview data end to end: rows written to staging before the pull request
 * appear in the preview's own Postgres (a point-in-time restore of staging, copied), the scrub
 * step ran on the copy, staging is untouched; a failing scrub keeps the preview without traffic.
 */
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import pg from "pg";
import { request } from "undici";
import { httpHealthGate } from "../../src/deploy/health-gate.ts";
import { LocalEngine } from "../../src/engine/local/local-engine.ts";
import { startTestDaemon, type TestDaemon, tempDir } from "../helpers/daemon.ts";
import { commit, gitIn, initRepo } from "../git/helpers.ts";
import { freePort, PREVIEW_SERVER, previewBlueprint } from "./helpers.ts";

const scrubbing = (sql: string) => `  data:\n    mode: fork\n    scrub: { sql: "${sql}" }\n`;

describe("fork preview data", () => {
  let t: TestDaemon;
  let repo: string;
  let secret: string;
  let port: number;
  const project = "forky";
  const query = async (environment: string, sql: string) => {
    const url = (await t.request("GET", `/v1/projects/${project}/environments/${environment}/databases/db/url`)).json.url as string;
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.end();
    }
  };
  const deployStaging = async () => {
    const d = await t.request("POST", `/v1/projects/${project}/git/deploy`, {});
    const op = await t.daemon.operations.wait(d.json.id);
    assert.equal(op.state, "succeeded", JSON.stringify(op.error));
    await t.daemon.reconciler.whenIdle();
  };
  const open = async (number: number) => {
    gitIn(repo, ["checkout", "--quiet", "-B", `feature-${number}`]);
    const sha = commit(repo, { VERSION: `pr${number}` }, `pr ${number}`);
    gitIn(repo, ["update-ref", `refs/pull/${number}/head`, sha]);
    gitIn(repo, ["checkout", "--quiet", "main"]);
    const body = JSON.stringify({ action: "opened", number, pull_request: { head: { sha, ref: `feature-${number}`, repo: { full_name: "acme/forky" } }, base: { repo: { full_name: "acme/forky" } } } });
    const sig = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
    const res = await t.daemon.api.inject({ method: "POST", url: `/v1/hooks/github/${project}`, headers: { "content-type": "application/json", "x-github-event": "pull_request", "x-github-delivery": randomUUID(), "x-hub-signature-256": sig }, payload: body });
    assert.equal(res.statusCode, 202, res.body);
    const op = await t.daemon.operations.wait(JSON.parse(res.body).operation);
    assert.equal(op.state, "succeeded", JSON.stringify(op.error));
    return op.result as { state: string; reason?: string };
  };
  /** The environment's Redis (its app reports the port; the password is in the secret store). */
  const redisOf = async (environment: string) => {
    let res = await viaRouter(environment);
    for (let i = 0; i < 100 && res.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 200));
      res = await viaRouter(environment);
    }
    assert.equal(res.status, 200, `${res.body} ${JSON.stringify(t.daemon.store.events.list({ project, limit: 400 }).filter((e) => /failed/.test(e.type)).map((e) => [e.type, e.data])).slice(0, 1500)}`);
    const port = JSON.parse(res.body).redisPort as string;
    const p = t.daemon.store.projects.require(project);
    const password = t.daemon.secrets!.store.openAll({ id: p.id, name: p.name }, environment)["group:resource-kv-cache"]?.PASSWORD;
    const c = new Redis({ host: "127.0.0.1", port: Number(port), password, maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true });
    c.on("error", () => {});
    await c.connect();
    return c;
  };
  const viaRouter = async (environment: string) => {
    const res = await request(`http://127.0.0.1:${port}/`, { headers: { host: `api-${environment}-${project}.localhost:${port}` } });
    return { status: res.statusCode, body: await res.body.text() };
  };

  before(async () => {
    port = await freePort();
    const stateDir = tempDir();
    t = await startTestDaemon({ engine: ({ bus, openEnv }) => new LocalEngine({ stateDir, events: bus, openEnv, sandbox: false }), health: httpHealthGate, routerHttpPort: port });
    repo = initRepo(join(tempDir(), "forky"));
    commit(repo, { "berth.yaml": previewBlueprint(project, scrubbing("UPDATE users SET email = 'user' || id || '@example.invalid'")), "server.js": PREVIEW_SERVER, VERSION: "staging" }, "first");
    assert.equal((await t.request("POST", `/v1/projects/${project}/git`, { url: repo, branch: "main" })).status, 200);
    secret = (await t.request("POST", `/v1/projects/${project}/git/webhook-secret`, {})).json.secret;
    // Staging's api runs (its Redis port is read from it): its secrets are set.
    const p = t.daemon.store.projects.require(project);
    for (const name of ["PAYMENT_KEY", "PAYMENT_MODE"]) t.daemon.secrets!.store.set({ project: { id: p.id, name: p.name }, environment: "*", owner: "service:api", name }, "staging-value", "test");
    await deployStaging();
  });
  after(() => t?.close());

  test("rows written to staging before T are in the preview, scrubbed; staging is untouched", async () => {
    await query("staging", "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL)");
    await query("staging", "INSERT INTO users VALUES (1, 'alice@real.example'), (2, 'bob@real.example')");
    const stagingRedis = await redisOf("staging");
    await stagingRedis.set("reminder:1", "call mom");
    await stagingRedis.hset("settings", { tz: "Europe/Paris" });
    const r = await open(9);
    assert.equal(r.state, "live", JSON.stringify(r));
    assert.deepEqual(await query("pr-9", "SELECT id, email FROM users ORDER BY id"), [
      { id: 1, email: "user1@example.invalid" },
      { id: 2, email: "user2@example.invalid" },
    ]);
    assert.deepEqual(await query("staging", "SELECT id, email FROM users ORDER BY id"), [
      { id: 1, email: "alice@real.example" },
      { id: 2, email: "bob@real.example" },
    ]);
    assert.equal((await viaRouter("pr-9")).status, 200);
    // Redis (issue 19): the preview's own server holds a copy of staging's keys; staging keeps its own.
    const previewRedis = await redisOf("pr-9");
    try {
      assert.notEqual(previewRedis.options.port, stagingRedis.options.port, "its own Redis server");
      assert.equal(await previewRedis.get("reminder:1"), "call mom");
      assert.deepEqual(await previewRedis.hgetall("settings"), { tz: "Europe/Paris" });
      await previewRedis.set("reminder:1", "changed in the preview");
      assert.equal(await stagingRedis.get("reminder:1"), "call mom", "staging untouched");
      assert.equal(await stagingRedis.dbsize(), 2);
    } finally {
      previewRedis.disconnect();
      stagingRedis.disconnect();
    }
    const ev = t.daemon.store.events.list({ types: ["preview:data"], limit: 10 });
    assert.ok(ev.some((e) => (e.data as { ok: boolean; detail: string }).ok && /scrubbed \(sql\)/.test((e.data as { detail: string }).detail)), JSON.stringify(ev));
  });

  test("a failing scrub keeps the preview without traffic, and says why", async () => {
    commit(repo, { "berth.yaml": previewBlueprint(project, scrubbing("UPDATE users SET nope = 1")) }, "a broken scrub");
    await deployStaging();
    const r = await open(10);
    assert.equal(r.state, "data-failed", JSON.stringify(r));
    assert.match(r.reason ?? "", /scrub step failed/);
    assert.notEqual((await viaRouter("pr-10")).status, 200);
    const env = t.daemon.store.environments.byName(project, "pr-10")!;
    assert.equal(t.daemon.store.services.list(env.id).length, 0, "no service, so no route and no traffic");
    const row = (await t.request("GET", `/v1/projects/${project}/previews`)).json.find((p: { number: number }) => p.number === 10);
    assert.equal(row.state, "data-failed");
    assert.match(row.detail, /nope/);
  });
});
