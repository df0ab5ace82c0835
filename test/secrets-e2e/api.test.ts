/**
 * The secrets API end to end on a real daemon (memory engine): write-only values, an audited
 * owner-only read, env groups, the audit log, and a change rolling exactly the services it
 * reaches.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";

const BLUEPRINT = `version: 1
project: shop
services:
  api:
    type: web
    start: node server.js
    env:
      STRIPE_KEY: { secret: true }
    envGroups: [external]
  worker:
    type: worker
    start: node worker.js
    env:
      MODE: batch
envGroups:
  external:
    MAPS_KEY: { secret: true }
`;
const ENV = "/v1/projects/shop/environments/production";

describe("secrets through the API", () => {
  let t: TestDaemon;
  let deployer: string;
  let dir: string;
  const releaseOf = async (service: string) =>
    ((await t.request("GET", `${ENV}/services/${service}/releases`)).json as { number: number; desired: boolean }[]).find((r) => r.desired)?.number;

  before(async () => {
    t = await startTestDaemon();
    deployer = t.daemon.store.tokens.create({ name: "ci", role: "deployer" }, new Date().toISOString()).token;
    dir = writeProject(join(tempDir(), "shop"), BLUEPRINT, { "server.js": "", "worker.js": "" });
    const res = await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    await t.daemon.reconciler.whenIdle();
  });
  after(() => t.close());

  test("a deploy missing a declared secret fails naming it; setting it rolls only the service that reads it", async () => {
    const status = await t.request("GET", ENV);
    const api = status.json.services.find((s: { name: string }) => s.name === "api");
    assert.equal(api.failed, true);
    const deploys = (await t.request("GET", `${ENV}/deploys?service=api`)).json as { reason: string }[];
    assert.match(deploys[0]!.reason, /cannot resolve 2 environment variable.*MAPS_KEY/);
    const workerBefore = await releaseOf("worker");
    assert.equal(workerBefore, 1);

    const set = await t.request("PUT", `${ENV}/secrets`, { owner: "service:api", values: { STRIPE_KEY: "sk_live_abcdef123456" } }, deployer);
    assert.equal(set.status, 200, JSON.stringify(set.json));
    assert.deepEqual(set.json.warnings, []);
    assert.deepEqual(set.json.environments, ["production"]);
    assert.equal(JSON.stringify(set.json).includes("sk_live_abcdef123456"), false);
    const group = await t.request("PUT", "/v1/projects/shop/environments/*/secrets", { owner: "group:external", values: { MAPS_KEY: "maps-0123456789" } });
    assert.equal(group.status, 200, JSON.stringify(group.json));
    await t.daemon.reconciler.whenIdle();

    assert.equal(await releaseOf("api"), 1, "api gets its first release once every secret is there");
    assert.equal(await releaseOf("worker"), workerBefore, "the worker reads no secret: it did not roll");
    const after1 = await t.request("GET", ENV);
    assert.equal(after1.json.status, "live", JSON.stringify(after1.json));

    await t.request("PUT", `${ENV}/secrets`, { owner: "service:api", values: { STRIPE_KEY: "sk_live_rotated99999" } }, deployer);
    await t.daemon.reconciler.whenIdle();
    assert.equal(await releaseOf("api"), 2, "a changed value rolls the service");
    assert.equal(await releaseOf("worker"), workerBefore);
    await t.request("PUT", "/v1/projects/shop/environments/*/secrets", { owner: "group:external", values: { MAPS_KEY: "maps-rotated-0000" } });
    await t.daemon.reconciler.whenIdle();
    assert.equal(await releaseOf("api"), 3, "a group change rolls the services attaching it");
    assert.equal(await releaseOf("worker"), workerBefore);
  });

  test("a sync with no change after secrets were set cuts nothing", async () => {
    const before1 = await releaseOf("api");
    await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir });
    await t.daemon.reconciler.whenIdle();
    assert.equal(await releaseOf("api"), before1);
  });

  test("list shows names, sources and who set them, never values; get is owner-only", async () => {
    const list = await t.request("GET", `${ENV}/secrets`, undefined, deployer);
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.map((l: { owner: string; name: string }) => `${l.owner}/${l.name}`).sort(), ["group:external/MAPS_KEY", "service:api/STRIPE_KEY"]);
    assert.equal(list.json.find((l: { name: string }) => l.name === "STRIPE_KEY").updatedBy, "ci");
    assert.doesNotMatch(JSON.stringify(list.json), /sk_live|maps-/);
    const denied = await t.request("GET", `${ENV}/secrets/service:api/STRIPE_KEY`, undefined, deployer);
    assert.equal(denied.status, 403);
    const got = await t.request("GET", `${ENV}/secrets/service:api/STRIPE_KEY`);
    assert.equal(got.status, 200);
    assert.equal(got.json.value, "sk_live_rotated99999");
    assert.equal(got.headers["cache-control"], "no-store");
    const missing = await t.request("GET", `${ENV}/secrets/service:api/NOPE`);
    assert.equal(missing.status, 404);
    const reads = t.daemon.store.events.list({ types: ["secret:read"] });
    assert.deepEqual(reads.map((e) => (e.data as { result: string }).result), ["ok", "failed"]);
  });

  test("responses mask secret values, even in an error that echoes what the request said", async () => {
    // The blueprint error names the unknown field, which happens to be a secret's value.
    const bad = await t.request("POST", "/v1/sync", {
      environment: "production",
      blueprint: "version: 1\nproject: shop\nservices:\n  api: { type: web, sk_live_rotated99999: 1 }\n",
      sourceDir: dir,
    });
    assert.equal(bad.status, 422);
    assert.match(JSON.stringify(bad.json), /\[redacted:STRIPE_KEY\]/);
    assert.doesNotMatch(JSON.stringify(bad.json), /sk_live_rotated99999/);
  });

  test("env groups: create, list, remove (its values go with it)", async () => {
    assert.equal((await t.request("POST", "/v1/projects/shop/env-groups", { name: "quotas" }, deployer)).status, 201);
    const groups = await t.request("GET", "/v1/projects/shop/env-groups", undefined, deployer);
    assert.deepEqual(groups.json.map((g: { name: string }) => g.name), ["quotas"]);
    await t.request("PUT", "/v1/projects/shop/environments/*/secrets", { owner: "group:quotas", values: { LIMIT_TOKEN: "quota-token-1234" } });
    const rm = await t.request("DELETE", "/v1/projects/shop/env-groups/quotas", undefined, deployer);
    assert.equal(rm.status, 200);
    const list = await t.request("GET", "/v1/projects/shop/environments/*/secrets?owner=group:quotas");
    assert.deepEqual(list.json, []);
    assert.equal((await t.request("DELETE", "/v1/projects/shop/env-groups/quotas")).status, 404);
  });

  test("unset removes a value; data-key and KEK rotation keep every value readable", async () => {
    const extra = await t.request("PUT", `${ENV}/secrets`, { owner: "service:api", values: { EXTRA: "extra-value-1234" } });
    assert.match(extra.json.warnings[0], /EXTRA is not declared for service:api in berth.yaml/);
    const un = await t.request("DELETE", `${ENV}/secrets/service:api/EXTRA`, undefined, deployer);
    assert.deepEqual(un.json, { removed: true, environments: ["production"] });
    const dk = await t.request("POST", "/v1/projects/shop/secrets/rotate", {});
    assert.equal(dk.status, 200, JSON.stringify(dk.json));
    assert.equal(dk.json.toVersion, dk.json.fromVersion + 1);
    assert.equal(dk.json.reencrypted, 2);
    const scoped = t.daemon.store.tokens.create({ name: "shop-owner", role: "owner", projects: ["shop"] }, new Date().toISOString()).token;
    assert.equal((await t.request("POST", "/v1/secrets/rotate-kek", {}, scoped)).status, 403, "a project-scoped owner cannot rotate every project's KEK");
    const kek = await t.request("POST", "/v1/secrets/rotate-kek", {});
    assert.equal(kek.status, 200, JSON.stringify(kek.json));
    assert.ok(kek.json.rewrapped >= 2);
    assert.equal((await t.request("GET", `${ENV}/secrets/service:api/STRIPE_KEY`)).json.value, "sk_live_rotated99999");
    assert.equal((await t.request("GET", "/v1/projects/shop/environments/*/secrets/group:external/MAPS_KEY")).json.value, "maps-rotated-0000");
  });

  test("the audit log has every mutation and every secret read, with actor, status and address; append-only", async () => {
    const viewer = t.daemon.store.tokens.create({ name: "peek", role: "viewer" }, new Date().toISOString()).token;
    await t.request("PUT", `${ENV}/secrets`, { owner: "service:api", values: { X: "y-value-0000" } }, viewer);
    const audit = await t.request("GET", "/v1/audit?limit=500");
    assert.equal(audit.status, 200);
    const rows = audit.json as { actor: string; action: string; target: string; status: number; address: string }[];
    const has = (actor: string, action: string, status: number) => rows.some((r) => r.actor === actor && r.action === action && r.status === status);
    assert.ok(has("ci", "PUT /v1/projects/:project/environments/:environment/secrets", 200));
    assert.ok(has("peek", "PUT /v1/projects/:project/environments/:environment/secrets", 403));
    assert.ok(has("ci", "GET /v1/projects/:project/environments/:environment/secrets/:owner/:name", 403));
    assert.ok(rows.filter((r) => r.action === "GET /v1/projects/:project/environments/:environment/secrets/:owner/:name").length >= 4);
    assert.ok(has(rows[0]!.actor, "POST /v1/sync", 202));
    assert.ok(!rows.some((r) => r.action === "GET /v1/projects/:project/environments/:environment/secrets"), "plain reads are not audited");
    assert.ok(rows.every((r) => r.address.length > 0));
    assert.doesNotMatch(JSON.stringify(rows), /sk_live|maps-|y-value/);
    assert.equal((await t.request("GET", "/v1/audit", undefined, deployer)).status, 403);
    assert.throws(() => t.daemon.store.db.sql.exec("DELETE FROM audit_log"), /append-only/);
    assert.throws(() => t.daemon.store.db.sql.exec("UPDATE audit_log SET actor = 'x'"), /append-only/);
  });
});
