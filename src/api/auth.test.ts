import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestDaemon, type TestDaemon } from "../../test/helpers/daemon.ts";
import { registeredRoutes } from "./app.ts";

/** Fills `:param` segments so the URL reaches the route's auth hook. */
const concrete = (url: string) => url.replace(/:project/g, "demo").replace(/:[a-z]+/gi, "x");

describe("every API route requires a token and the right role", () => {
  let t: TestDaemon;
  let viewer: string;
  let deployer: string;
  let otherProject: string;
  before(async () => {
    t = await startTestDaemon();
    const now = new Date().toISOString();
    viewer = t.daemon.store.tokens.create({ name: "viewer", role: "viewer" }, now).token;
    deployer = t.daemon.store.tokens.create({ name: "deployer", role: "deployer" }, now).token;
    otherProject = t.daemon.store.tokens.create({ name: "scoped", role: "owner", projects: ["elsewhere"] }, now).token;
  });
  after(() => t.close());

  test("the route table is not empty; only /healthz, the dashboard's login and files, and signed webhooks are public", () => {
    const routes = registeredRoutes.get(t.daemon.api)!;
    assert.ok(routes.length >= 15, `only ${routes.length} routes`);
    // Webhooks carry no token: they authenticate by an HMAC signature over the body (tested in test/git/).
    assert.deepEqual(
      routes
        .filter((r) => r.public)
        .map((r) => r.url)
        .filter((u) => !u.startsWith("/v1/hooks/")),
      // The dashboard's files hold no data (issue 21); its login takes a token in the body.
      ["/healthz", "/v1/session", ...(routes.some((r) => r.url === "/dashboard/*") ? ["/dashboard/*", "/dashboard", "/"] : [])],
    );
    for (const r of routes.filter((x) => !x.public)) assert.ok(r.role, `${r.method} ${r.url} declares no role`);
  });

  test("401 without a token, and with a wrong one", async () => {
    for (const r of registeredRoutes.get(t.daemon.api)!.filter((x) => !x.public)) {
      const none = await t.request(r.method, concrete(r.url), r.method === "GET" || r.method === "DELETE" ? undefined : {}, "");
      assert.equal(none.status, 401, `${r.method} ${r.url} without token -> ${none.status}`);
      assert.equal(none.json.error.code, "BERTH_UNAUTHENTICATED");
      const bad = await t.request(r.method, concrete(r.url), undefined, "berth_not-a-real-token");
      assert.equal(bad.status, 401, `${r.method} ${r.url} with a bad token -> ${bad.status}`);
    }
  });

  test("403 with a token that lacks the role or the project", async () => {
    const below = { viewer: [] as string[], deployer: [viewer], owner: [viewer, deployer] };
    let checked = 0;
    for (const r of registeredRoutes.get(t.daemon.api)!.filter((x) => !x.public)) {
      const lower = below[r.role as keyof typeof below];
      for (const token of lower) {
        const res = await t.request(r.method, concrete(r.url), r.method === "GET" || r.method === "DELETE" ? undefined : {}, token);
        assert.equal(res.status, 403, `${r.method} ${r.url} (needs ${r.role}) -> ${res.status}`);
        assert.equal(res.json.error.code, "BERTH_FORBIDDEN");
        checked++;
      }
      // Viewer routes: every token has the role, so the project scope is what can be lacking.
      if (r.url.includes(":project")) {
        const res = await t.request(r.method, concrete(r.url), r.method === "GET" || r.method === "DELETE" ? undefined : {}, otherProject);
        assert.equal(res.status, 403, `${r.method} ${r.url} with a token for another project -> ${res.status}`);
        checked++;
      }
    }
    assert.ok(checked > 10);
  });

  test("GET /healthz needs no token; responses carry a request id", async () => {
    const res = await t.request("GET", "/healthz", undefined, "");
    assert.equal(res.status, 200);
    assert.match(String(res.headers["x-request-id"]), /^req_/);
  });

  test("the OpenAPI document lists the routes", async () => {
    const res = await t.request("GET", "/openapi.json");
    assert.equal(res.status, 200);
    assert.ok(res.json.paths["/v1/sync"]);
    assert.ok(res.json.paths["/v1/tokens"]);
  });
});
