import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startTestDaemon, type TestDaemon, writeProject } from "../../test/helpers/daemon.ts";

// Issue 15: the full listing of a 5,000-service environment is ~200 ms of event loop; a client
// pages through it instead.
let t: TestDaemon;
before(async () => {
  t = await startTestDaemon();
});
after(() => t.close());

test("an environment's services page with limit and offset, failing ones first, then by name", async () => {
  const services = Array.from({ length: 7 }, (_, i) => `  w${i}:\n    type: worker\n    start: node w.js\n`).join("");
  const dir = writeProject(t.dataDir, `version: 1\nproject: pages\nservices:\n${services}`, { "w.js": "setInterval(() => {}, 1000);\n" });
  const sync = await t.request("POST", "/v1/sync", { environment: "production", blueprint: `version: 1\nproject: pages\nservices:\n${services}`, sourceDir: dir });
  assert.equal(sync.status, 202, JSON.stringify(sync.json));
  const all = await t.request("GET", "/v1/projects/pages/environments/production");
  assert.equal(all.json.servicesTotal, 7);
  const names = all.json.services.map((s: { name: string }) => s.name);
  const pages: string[] = [];
  for (let offset = 0; offset < 7; offset += 3) {
    const page = await t.request("GET", `/v1/projects/pages/environments/production?limit=3&offset=${offset}`);
    assert.equal(page.status, 200);
    assert.equal(page.json.servicesTotal, 7, "the total, whatever the page");
    pages.push(...page.json.services.map((s: { name: string }) => s.name));
  }
  assert.deepEqual(pages, names, "the pages, one after the other, are the full listing");
  const bad = await t.request("GET", "/v1/projects/pages/environments/production?limit=0");
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.details[0].field, "querystring.limit");
});
