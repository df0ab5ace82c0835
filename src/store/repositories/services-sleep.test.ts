/**
 * Issue 19: the sleep columns of services. `sleepAfterMs` follows the sync (null turns sleeping
 * off and wakes), `setAsleep` records desired state once (a second intent changes nothing), a sync
 * with the same inputs keeps a service asleep, new inputs (a deploy) wake it, and `sleepers()`
 * lists what may sleep.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ServiceSpec } from "../../engine/engine.ts";
import { openStore } from "../store.ts";

const now = "2026-12-06T05:00:00.000Z";
const spec = (service: string) => ({ ref: { project: "shop", environment: "pr-7", service }, kind: "web", replicas: 1 }) as unknown as ServiceSpec;

test("sleep settings and desired state of services", () => {
  const store = openStore(":memory:");
  const p = store.projects.upsert("shop", { kind: "dir", path: "/x" }, now);
  const env = store.environments.record(p.id, "pr-7", {}, now);
  const sync = (digest: string, sleepAfterMs: number | null) => store.services.replaceAll(env.id, [{ spec: spec("web"), inputs: { d: digest }, inputsDigest: digest, sleepAfterMs }, { spec: spec("api"), inputs: {}, inputsDigest: "a", sleepAfterMs: null }], now);
  sync("d1", 60_000);
  const web = store.services.byName(env.id, "web")!;
  assert.deepEqual([web.sleepAfterMs, web.asleepSince], [60_000, null]);
  assert.deepEqual(store.services.sleepers().map((s) => [s.service, s.sleepAfterMs]), [["web", 60_000]]);
  assert.equal(store.services.setAsleep(store.services.byName(env.id, "api")!.id, now, now), false, "a service without sleepAfter never sleeps");
  assert.equal(store.services.setAsleep(web.id, now, now), true);
  assert.equal(store.services.setAsleep(web.id, now, now), false, "recorded once");
  sync("d1", 60_000);
  assert.equal(store.services.byId(web.id)!.asleepSince, now, "the same inputs keep it asleep");
  assert.equal(store.services.statusRows(env.id).find((r) => r.name === "web")!.asleep, true);
  sync("d2", 60_000);
  assert.equal(store.services.byId(web.id)!.asleepSince, null, "a deploy wakes it");
  store.services.setAsleep(web.id, now, now);
  sync("d2", null);
  assert.deepEqual([store.services.byId(web.id)!.sleepAfterMs, store.services.byId(web.id)!.asleepSince], [null, null], "turning sleep off wakes it");
  assert.deepEqual(store.services.sleepers(), []);
  // An environment-version rewrite (no sleep field) keeps the recorded setting.
  sync("d3", 30_000);
  store.services.replaceAll(env.id, store.services.list(env.id).map((s) => ({ spec: s.spec, inputs: s.inputs, inputsDigest: s.inputsDigest })), now);
  assert.equal(store.services.byId(web.id)!.sleepAfterMs, 30_000);
  store.close();
});
