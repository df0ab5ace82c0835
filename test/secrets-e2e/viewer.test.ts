/**
 * A viewer token cannot deploy, change or read secrets: every mutating route the API registers
 * (enumerated from `registeredRoutes`, so a route added later is covered automatically) answers
 * 403 to a viewer, with a body the route would otherwise accept; so does reading a secret value.
 * Nothing changes as a result, and every refusal is in the audit log.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { registeredRoutes } from "../../src/api/app.ts";
import { AuditRepository } from "../../src/store/repositories/audit.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";

const BLUEPRINT = `version: 1
project: demo
services:
  api:
    type: web
    start: node server.js
    env:
      API_KEY: { secret: true }
`;

/** Fills `:param` segments with names that exist, so a refusal cannot be a 404 in disguise. */
const concrete = (url: string) =>
  url
    .replace(/:project/g, "demo")
    .replace(/:environment/g, "production")
    .replace(/:service/g, "api")
    .replace(/:owner/g, "service:api")
    .replace(/:name/g, "API_KEY")
    .replace(/:group/g, "external")
    .replace(/:[a-zA-Z]+/g, "x");

/** Plausible bodies, so the refusal comes from the role check and not from validation. */
const BODIES: Record<string, unknown> = {
  "PUT /v1/projects/:project/environments/:environment/secrets": { owner: "service:api", values: { API_KEY: "viewer-wrote-this-1234" } },
  "POST /v1/projects/:project/env-groups": { name: "external" },
  "POST /v1/tokens": { name: "sneaky", role: "owner" },
};

describe("a viewer token", () => {
  let t: TestDaemon;
  let viewer: string;
  let dir: string;
  before(async () => {
    t = await startTestDaemon();
    viewer = t.daemon.store.tokens.create({ name: "viewer", role: "viewer" }, new Date().toISOString()).token;
    dir = writeProject(join(tempDir(), "demo"), BLUEPRINT, { "server.js": "" });
    assert.equal((await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir })).status, 202);
    assert.equal((await t.request("PUT", "/v1/projects/demo/environments/production/secrets", { owner: "service:api", values: { API_KEY: "owner-set-value-1234" } })).status, 200);
    await t.daemon.reconciler.whenIdle();
  });
  after(() => t.close());

  test("gets 403 from every mutating route, and nothing changes", async () => {
    // Public routes (signed webhooks) take no token at all: their refusal is tested in test/git/.
    // Logging out of the dashboard (DELETE /v1/session, issue 21) is every role's own business.
    const routes = registeredRoutes.get(t.daemon.api)!.filter((r) => !r.public && !["GET", "HEAD", "OPTIONS"].includes(r.method) && r.url !== "/v1/session");
    assert.ok(routes.length >= 10, `only ${routes.length} mutating routes`);
    const urls = routes.map((r) => `${r.method} ${r.url}`);
    for (const must of ["POST /v1/sync", "PUT /v1/projects/:project/environments/:environment/secrets", "POST /v1/secrets/rotate-kek", "DELETE /v1/projects/:project/env-groups/:group"]) {
      assert.ok(urls.includes(must), `${must} is registered`);
    }
    const eventsBefore = t.daemon.store.events.lastSeq();
    const releasesBefore = t.daemon.store.releases.list(t.daemon.store.services.list(t.daemon.store.environments.require("demo", "production").id)[0]!.id).length;
    for (const r of routes) {
      const key = `${r.method} ${r.url}`;
      const body = BODIES[key] ?? (key === "POST /v1/sync" ? { environment: "production", blueprint: BLUEPRINT, sourceDir: dir } : r.method === "DELETE" ? undefined : {});
      const res = await t.request(r.method, concrete(r.url), body, viewer);
      assert.equal(res.status, 403, `${key} as viewer -> ${res.status} ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error.code, "BERTH_FORBIDDEN");
    }
    await t.daemon.reconciler.whenIdle();
    const newEvents = t.daemon.store.events.list({ afterSeq: eventsBefore, limit: 5000 });
    assert.deepEqual(newEvents.filter((e) => !["auth:rejected"].includes(e.type)).map((e) => e.type), [], "a refused request changes nothing");
    const svc = t.daemon.store.services.list(t.daemon.store.environments.require("demo", "production").id)[0]!;
    assert.equal(t.daemon.store.releases.list(svc.id).length, releasesBefore);
    const audit = new AuditRepository(t.daemon.store.db).list({ limit: 5000 });
    for (const r of routes) {
      assert.ok(audit.some((a) => a.actor === "viewer" && a.action === `${r.method} ${r.url}` && a.status === 403), `${r.method} ${r.url} refusal audited`);
    }
  });

  test("cannot read a secret value (403, audited), nor list secret names", async () => {
    const read = await t.request("GET", "/v1/projects/demo/environments/production/secrets/service:api/API_KEY", undefined, viewer);
    assert.equal(read.status, 403);
    assert.doesNotMatch(JSON.stringify(read.json), /owner-set-value-1234/);
    assert.equal((await t.request("GET", "/v1/projects/demo/environments/production/secrets", undefined, viewer)).status, 403);
    assert.equal((await t.request("GET", "/v1/audit", undefined, viewer)).status, 403);
    assert.ok(new AuditRepository(t.daemon.store.db).list({ limit: 5000 }).some((a) => a.actor === "viewer" && a.action.startsWith("GET ") && a.action.endsWith("/secrets/:owner/:name") && a.status === 403));
    // The value is intact.
    assert.equal((await t.request("GET", "/v1/projects/demo/environments/production/secrets/service:api/API_KEY")).json.value, "owner-set-value-1234");
  });
});
