import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestDaemon, type TestDaemon } from "../../test/helpers/daemon.ts";

describe("bad input gets a 400 with the catalogue code and the field path", () => {
  let t: TestDaemon;
  before(async () => {
    t = await startTestDaemon();
  });
  after(() => t.close());

  test("malformed JSON", async () => {
    const res = await t.daemon.api.inject({
      method: "POST",
      url: "/v1/tokens",
      headers: { authorization: `Bearer ${t.token}`, "content-type": "application/json" },
      payload: '{"name": "ci", "role": ',
    });
    assert.equal(res.statusCode, 400);
    const body = JSON.parse(res.body);
    assert.equal(body.error.code, "BERTH_BAD_REQUEST");
    assert.match(body.error.requestId, /^req_/);
  });

  test("a wrong field value names the field", async () => {
    const res = await t.request("POST", "/v1/tokens", { name: "ci", role: "admin" });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, "BERTH_BAD_REQUEST");
    assert.equal(res.json.error.details[0].field, "body.role");
    assert.match(res.json.error.message, /body\.role/);
  });

  test("an unknown field is refused, not ignored", async () => {
    const res = await t.request("POST", "/v1/tokens", { name: "ci", role: "viewer", rol: "x" });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, "BERTH_BAD_REQUEST");
    assert.match(JSON.stringify(res.json.error.details), /rol/);
  });

  test("a bad query parameter names it", async () => {
    const res = await t.request("GET", "/v1/events?limit=abc");
    assert.equal(res.status, 400);
    assert.equal(res.json.error.details[0].field, "querystring.limit");
  });

  test("an invalid blueprint is refused with located errors and nothing is recorded", async () => {
    const res = await t.request("POST", "/v1/sync", {
      environment: "production",
      blueprint: "version: 1\nproject: demo\nservices:\n  api:\n    type: web\n    strat: node server.js\n",
      file: "berth.yaml",
      sourceDir: t.dataDir,
    });
    assert.equal(res.status, 422);
    assert.equal(res.json.error.code, "BERTH_BLUEPRINT_INVALID");
    const d = res.json.error.details[0];
    assert.equal(d.line, 6);
    assert.ok(d.column > 0);
    assert.equal(t.daemon.store.projects.list().length, 0);
  });

  test("an unknown route is a catalogued 404", async () => {
    const res = await t.request("GET", "/v1/nope");
    assert.equal(res.status, 404);
    assert.equal(res.json.error.code, "BERTH_NOT_FOUND");
  });
});
