/**
 * Issue 5, the GitHub-compatible push webhook: a delivery signed with the project's webhook
 * secret deploys the pushed commit; a wrong signature gets 401, is audited, and deploys nothing;
 * a replayed delivery id is refused even with a valid signature.
 */
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { httpHealthGate } from "../../src/deploy/health-gate.ts";
import { LocalEngine } from "../../src/engine/local/local-engine.ts";
import { AuditRepository } from "../../src/store/repositories/audit.ts";
import { startTestDaemon, type TestDaemon, tempDir } from "../helpers/daemon.ts";
import { bodies, blueprint, commit, initRepo, revisions, SERVER, waitForBody } from "./helpers.ts";

describe("GitHub push webhook", () => {
  let t: TestDaemon;
  let repo: string;
  let secret: string;
  const sign = (body: string, key = secret) => `sha256=${createHmac("sha256", key).update(body).digest("hex")}`;
  const deliver = async (body: string, headers: Record<string, string>) => {
    const res = await t.daemon.api.inject({ method: "POST", url: "/v1/hooks/github/hooked", headers: { "content-type": "application/json", "x-github-event": "push", ...headers }, payload: body });
    await t.daemon.reconciler.whenIdle();
    return { status: res.statusCode, json: JSON.parse(res.body) as Record<string, unknown> };
  };
  const pushEvent = (sha: string) => JSON.stringify({ ref: "refs/heads/main", before: "0".repeat(40), after: sha, repository: { full_name: "acme/hooked" } });
  const deployCount = async () => ((await t.request("GET", "/v1/projects/hooked/environments/production/deploys")).json as unknown[]).length;

  before(async () => {
    const stateDir = tempDir();
    t = await startTestDaemon({ engine: ({ bus, openEnv }) => new LocalEngine({ stateDir, events: bus, openEnv, sandbox: false }), health: httpHealthGate });
    // The "remote" is a plain working repository on this host: a local path is a valid git URL.
    repo = initRepo(join(tempDir(), "hooked"));
    const follow = await t.request("POST", "/v1/projects/hooked/git", { url: repo, branch: "main" });
    assert.equal(follow.status, 200, JSON.stringify(follow.json));
    assert.equal(follow.json.served, false);
    const s = await t.request("POST", "/v1/projects/hooked/git/webhook-secret", {});
    assert.equal(s.status, 200, JSON.stringify(s.json));
    secret = s.json.secret;
    assert.match(secret, /^[0-9a-f]{64}$/);
  });
  after(() => t.close());

  test("a ping with a valid signature is answered; nothing deploys", async () => {
    const body = JSON.stringify({ zen: "Keep it logically awesome." });
    const res = await deliver(body, { "x-github-event": "ping", "x-github-delivery": randomUUID(), "x-hub-signature-256": sign(body) });
    assert.equal(res.status, 200);
    assert.equal(res.json.event, "ping");
  });

  test("a valid signature deploys the pushed commit", async () => {
    const sha = commit(repo, { "berth.yaml": blueprint("hooked"), "server.js": SERVER, VERSION: "v1" }, "first");
    const body = pushEvent(sha);
    const res = await deliver(body, { "x-github-delivery": randomUUID(), "x-hub-signature-256": sign(body) });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    assert.deepEqual({ ...res.json, operation: typeof res.json.operation }, { accepted: true, branch: "main", commit: sha, operation: "string" });
    // Recorded before the answer (issue 15): a git-deploy operation, carried out by the runner.
    const op = await t.daemon.operations.wait(res.json.operation as string);
    assert.equal(op.state, "succeeded", JSON.stringify(op.error));
    assert.equal(op.kind, "git-deploy");
    assert.equal(op.createdBy, "github");
    await t.daemon.git.whenIdle();
    await waitForBody(t, "hooked", "v1");
    assert.deepEqual(revisions(t, "hooked"), { web: sha });
  });

  test("a wrong signature gets 401, is audited, and deploys nothing", async () => {
    const before = await deployCount();
    const sha = commit(repo, { VERSION: "v2-evil" }, "unsigned");
    const body = pushEvent(sha);
    for (const signature of [sign(body, "not-the-secret"), "sha256=" + "0".repeat(64), "sha1=abc", ""]) {
      const res = await deliver(body, { "x-github-delivery": randomUUID(), ...(signature ? { "x-hub-signature-256": signature } : {}) });
      assert.equal(res.status, 401, signature);
      assert.equal((res.json.error as { code: string }).code, "BERTH_WEBHOOK_REJECTED");
    }
    // A tampered body under a signature of another body is refused too.
    const res = await deliver(body.replace("main", "mainx"), { "x-github-delivery": randomUUID(), "x-hub-signature-256": sign(body) });
    assert.equal(res.status, 401);
    await t.daemon.git.whenIdle();
    assert.equal(await deployCount(), before);
    assert.deepEqual(await bodies(t, "hooked"), ["v1"]);
    const audit = new AuditRepository(t.daemon.store.db).list({ limit: 5000 }).filter((e) => e.action === "POST /v1/hooks/github/:project" && e.status === 401);
    assert.equal(audit.length, 5);
    const rejected = t.daemon.store.events.list({ types: ["git:webhook:rejected"], limit: 1000 });
    assert.ok(rejected.length >= 5);
    assert.ok(!JSON.stringify(rejected).includes(secret), "the secret never appears in events");
  });

  test("a replayed delivery id is refused, even with a valid signature", async () => {
    const sha = commit(repo, { VERSION: "v3" }, "third");
    const body = pushEvent(sha);
    const headers = { "x-github-delivery": randomUUID(), "x-hub-signature-256": sign(body) };
    const first = await deliver(body, headers);
    assert.equal(first.status, 202);
    await t.daemon.git.whenIdle();
    await waitForBody(t, "hooked", "v3");
    const count = await deployCount();
    const replay = await deliver(body, headers);
    assert.equal(replay.status, 401);
    assert.match((replay.json.error as { message: string }).message, /replay/);
    // The delivery id is not signed: the same signed body under a fresh id is a replay too.
    const renamed = await deliver(body, { ...headers, "x-github-delivery": randomUUID() });
    assert.equal(renamed.status, 401);
    await t.daemon.git.whenIdle();
    assert.equal(await deployCount(), count);
  });

  test("a deployer can deploy the branch head on request (no webhook)", async () => {
    const sha = commit(repo, { VERSION: "v4" }, "fourth");
    const r = await t.request("POST", "/v1/projects/hooked/git/deploy", {});
    assert.equal(r.status, 202, JSON.stringify(r.json));
    // The route records an operation and returns it (issue 15); its result names the commit.
    assert.equal(r.json.kind, "git-deploy");
    assert.ok(["pending", "running"].includes(r.json.state), r.json.state);
    const op = await t.daemon.operations.wait(r.json.id);
    assert.equal(op.state, "succeeded", JSON.stringify(op.error));
    assert.deepEqual(op.result, { commit: sha, environments: ["production"] });
    const shown = await t.request("GET", `/v1/operations/${r.json.id}`);
    assert.equal(shown.json.state, "succeeded");
    await waitForBody(t, "hooked", "v4");
    const bad = await t.request("POST", "/v1/projects/hooked/git/deploy", { commit: "HEAD~1" });
    assert.equal(bad.status, 400);
  });

  test("a form-encoded delivery (GitHub's other content type) is verified over its raw bytes", async () => {
    const sha = commit(repo, { VERSION: "v5" }, "fifth");
    const body = new URLSearchParams({ payload: pushEvent(sha) }).toString();
    const res = await t.daemon.api.inject({
      method: "POST",
      url: "/v1/hooks/github/hooked",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-github-event": "push", "x-github-delivery": randomUUID(), "x-hub-signature-256": sign(body) },
      payload: body,
    });
    assert.equal(res.statusCode, 202, res.body);
    await t.daemon.git.whenIdle();
    await waitForBody(t, "hooked", "v5");
  });

  test("an unknown project answers like a bad signature", async () => {
    const res = await t.daemon.api.inject({ method: "POST", url: "/v1/hooks/github/nope", headers: { "content-type": "application/json", "x-github-delivery": randomUUID(), "x-hub-signature-256": sign("{}") }, payload: "{}" });
    assert.equal(res.statusCode, 401);
  });
});
