/**
 * Issue 18: a log drain's API key comes from the secret store. The local receiver gets the header
 * value stored with `secret set` (and the rotated one after a new `set`, with nothing restarted);
 * a header whose value is unset refuses the sync; no value appears in events or API output.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { MemoryEngine } from "../../src/engine/memory/memory-engine.ts";
import { eventually } from "../../src/router/test-helpers.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";
import { startHttpReceiver } from "./receivers.ts";

let t: TestDaemon;
let rx: Awaited<ReturnType<typeof startHttpReceiver>>;

before(async () => {
  rx = await startHttpReceiver();
  t = await startTestDaemon({ observe: { drainRetryMs: 100 } });
});
after(async () => {
  await t?.close();
  await rx?.close();
});

const TOKEN = "Bearer logtail-7f3e9a-stored";
const ROTATED = "Bearer logtail-2b8c4d-rotated";

test("the drain's receiver gets the header value from the store; an unset one refuses the sync; no value leaks", { timeout: 60_000 }, async () => {
  const blueprint = `version: 1
project: keyed
services:
  api: { type: web, start: node server.js }
envGroups:
  logging:
    LOGTAIL_TOKEN: { secret: true }
    DD_KEY: { secret: true }
logDrains:
  - { type: http, url: "${rx.url}/ingest", headers: { Authorization: { fromGroup: logging.LOGTAIL_TOKEN } } }
`;
  const dir = writeProject(join(tempDir(), "keyed"), blueprint, { "server.js": "" });
  const first = await t.request("POST", "/v1/sync", { environment: "production", blueprint, sourceDir: dir });
  assert.equal(first.status, 202);
  const warned = (first.json.warnings as { code: string; message: string }[]).filter((w) => w.code === "BERTH_ALERT_SECRET_MISSING").map((w) => w.message);
  assert.deepEqual(warned, ["logDrains[0].headers.Authorization reads secret LOGTAIL_TOKEN of env group 'logging', which has no value in environment 'production'"]);
  await t.daemon.reconciler.whenIdle();

  const set = await t.request("PUT", "/v1/projects/keyed/environments/production/secrets", { owner: "group:logging", values: { LOGTAIL_TOKEN: TOKEN } });
  assert.equal(set.status, 200, JSON.stringify(set.json));
  assert.deepEqual([set.json.environments, set.json.rolls, set.json.warnings], [["production"], [], []], "no service reads the group: nothing rolls");

  const engine = t.daemon.engine as MemoryEngine;
  const ref = { project: "keyed", environment: "production", service: "api" };
  const inst = (await engine.actual(ref))[0]!.instances[0]!;
  t.daemon.observe.drains.refresh();
  await new Promise((r) => setTimeout(r, 200)); // the follower is attached
  engine.writeLog(ref, inst.id, "first line");
  await eventually(() => rx.received.length >= 1, 10_000);
  assert.equal(rx.received[0]!.headers.authorization, TOKEN);
  assert.match(rx.received[0]!.body, /"message":"first line"/);

  // Rotated: the next batch carries the new value; the service did not roll.
  const releases = (await engine.actual(ref))[0]!.instances.map((i) => i.id);
  await t.request("PUT", "/v1/projects/keyed/environments/production/secrets", { owner: "group:logging", values: { LOGTAIL_TOKEN: ROTATED } });
  await t.daemon.reconciler.whenIdle();
  engine.writeLog(ref, inst.id, "second line");
  await eventually(() => rx.received.length >= 2, 10_000);
  assert.equal(rx.received[1]!.headers.authorization, ROTATED);
  assert.deepEqual((await engine.actual(ref))[0]!.instances.map((i) => i.id), releases, "nothing restarted");

  // A second header whose value is unset: the sync is refused, nothing recorded.
  const generation = (await t.request("GET", "/v1/projects/keyed/environments/production")).json.generation as number;
  const withDd = blueprint.replace("LOGTAIL_TOKEN } } }", "LOGTAIL_TOKEN }, DD-API-KEY: { fromGroup: logging.DD_KEY } } }");
  const refused = await t.request("POST", "/v1/sync", { environment: "production", blueprint: withDd, sourceDir: dir });
  assert.equal(refused.status, 422);
  assert.equal(refused.json.error.code, "BERTH_ALERT_SECRET_MISSING");
  assert.equal(refused.json.error.message, "logDrains[0].headers.DD-API-KEY reads secret DD_KEY of env group 'logging', which has no value in environment 'production'");
  assert.match(refused.json.error.hint, /berth secret set --group logging DD_KEY=- --env production/);
  assert.equal((await t.request("GET", "/v1/projects/keyed/environments/production")).json.generation, generation);

  // A literal header value is refused by validation, without repeating it.
  const literal = await t.request("POST", "/v1/sync", { environment: "production", blueprint: blueprint.replace("{ fromGroup: logging.LOGTAIL_TOKEN }", `"${TOKEN}"`), sourceDir: dir });
  assert.equal(literal.status, 422);
  assert.ok(JSON.stringify(literal.json).includes("BERTH_BLUEPRINT_LITERAL_SECRET"), JSON.stringify(literal.json));

  // Redaction: neither value in events or API output.
  const outputs = [
    JSON.stringify((await t.request("GET", "/v1/events?project=keyed&limit=5000")).json),
    JSON.stringify((await t.request("GET", "/v1/projects/keyed/environments/production")).json),
    JSON.stringify((await t.request("GET", "/v1/projects/keyed/environments/production/secrets")).json),
    JSON.stringify([first.json, set.json, refused.json, literal.json]),
  ];
  assert.ok(outputs[1]!.includes("LOGTAIL_TOKEN") || outputs[0]!.includes("LOGTAIL_TOKEN"), "the scans see the recorded references");
  for (const value of [TOKEN, ROTATED, "logtail-7f3e9a", "logtail-2b8c4d"]) assert.ok(!outputs.some((o) => o.includes(value)), `${value.slice(0, 12)}... leaked`);
});
