/**
 * Keys under load and under damage, on a real daemon with the memory engine:
 * - rotating the key-encryption key while services run: no failed restart, every secret
 *   readable, every data key re-wrapped (and, with a data-key rotation, every value
 *   re-encrypted), and a fresh daemon on the rewritten key file starts everything again;
 * - a corrupted ciphertext (a flipped byte in a release's sealed env, or in a stored secret)
 *   makes the deploy fail with a clear error, and nothing is started.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { BerthEvent } from "../../src/core/events.ts";
import { MemoryEngine } from "../../src/engine/memory/memory-engine.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";

const BLUEPRINT = `version: 1
project: keys
services:
  api:
    type: web
    start: node server.js
    replicas: 2
    env:
      API_SECRET: { secret: true }
      SESSION_KEY: { generate: secret }
    envGroups: [external]
  worker:
    type: worker
    start: node worker.js
    env:
      WORKER_TOKEN: { secret: true }
envGroups:
  external:
    MAPS_KEY: { secret: true }
`;
const ENV = "/v1/projects/keys/environments/production";
const VALUES = { API_SECRET: "api-secret-value-0001", WORKER_TOKEN: "worker-token-value-0002", MAPS_KEY: "maps-key-value-0003" };

/** Changes one character of the base64url ciphertext part: one flipped byte, format intact. */
function flip(ciphertext: string): string {
  const i = ciphertext.length - 8;
  const c = ciphertext[i] === "A" ? "B" : "A";
  return ciphertext.slice(0, i) + c + ciphertext.slice(i + 1);
}

async function deployed(dataDir?: string): Promise<{ t: TestDaemon; engine: () => MemoryEngine }> {
  let engine: MemoryEngine | undefined;
  const t = await startTestDaemon({
    ...(dataDir ? { dataDir } : {}),
    engine: ({ bus, openEnv }) => {
      engine = new MemoryEngine({ events: bus, openEnv });
      return engine;
    },
  });
  return { t, engine: () => engine! };
}

async function setAll(t: TestDaemon): Promise<void> {
  assert.equal((await t.request("PUT", `${ENV}/secrets`, { owner: "service:api", values: { API_SECRET: VALUES.API_SECRET } })).status, 200);
  assert.equal((await t.request("PUT", `${ENV}/secrets`, { owner: "service:worker", values: { WORKER_TOKEN: VALUES.WORKER_TOKEN } })).status, 200);
  assert.equal((await t.request("PUT", "/v1/projects/keys/environments/*/secrets", { owner: "group:external", values: { MAPS_KEY: VALUES.MAPS_KEY } })).status, 200);
}

const running = async (engine: MemoryEngine, service: string) =>
  (await engine.actual({ project: "keys", environment: "production" })).find((a) => a.ref.service === service)?.instances.filter((i) => i.state === "healthy") ?? [];

describe("rotating the key-encryption key while services run", () => {
  const dataDir = tempDir();
  let t: TestDaemon | undefined;
  after(async () => {
    await t?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("no failed restart, every secret readable, every old ciphertext re-encrypted, a fresh start works", async () => {
    const first = await deployed(dataDir);
    t = first.t;
    const dir = writeProject(join(tempDir(), "keys"), BLUEPRINT, { "server.js": "", "worker.js": "" });
    await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir });
    await t.daemon.reconciler.whenIdle();
    await setAll(t);
    await t.daemon.reconciler.whenIdle();
    const engine = first.engine();
    assert.equal((await running(engine, "api")).length, 2);
    assert.equal((await running(engine, "worker")).length, 1);

    const sql = t.daemon.store.db.sql;
    const keysBefore = sql.prepare("SELECT id, kek_id, wrapped FROM data_keys").all() as { id: string; kek_id: string; wrapped: string }[];
    const valuesBefore = sql.prepare("SELECT id, key_id, ciphertext FROM secret_values").all() as { id: string; key_id: string; ciphertext: string }[];
    const kekFileBefore = readFileSync(join(dataDir, "secrets.kek"), "utf8");
    const fromSeq = t.daemon.store.events.lastSeq();

    // Rotate both keys while instances crash and restart (each restart opens its sealed env).
    // (Fewer than 5 crashes per instance: 5 in 10 minutes is a crash loop by the restart policy.)
    const crashes = async (rounds: number) => {
      for (let round = 0; round < rounds; round++) {
        for (const s of ["api", "worker"]) {
          for (const i of await running(engine, s)) await engine.crash({ project: "keys", environment: "production", service: s }, i.id);
        }
      }
    };
    const rotations = async () => {
      const dk = await t!.request("POST", "/v1/projects/keys/secrets/rotate", {});
      assert.equal(dk.status, 200, JSON.stringify(dk.json));
      const kek = await t!.request("POST", "/v1/secrets/rotate-kek", {});
      assert.equal(kek.status, 200, JSON.stringify(kek.json));
      return kek.json as { toKekId: string; fromKekIds: string[]; rewrapped: number };
    };
    const [, kek] = await Promise.all([crashes(2), rotations()]);
    await crashes(1);

    const since = t.daemon.store.events.list({ afterSeq: fromSeq, limit: 5000 });
    const bad = since.filter((e: BerthEvent) => /(:failed|:crash-looping)$/.test(e.type));
    assert.deepEqual(bad.map((e) => [e.type, e.data]), [], "no failed restart");
    assert.ok(since.filter((e) => e.type === "instance:restarting").length >= 9, "instances did restart");
    assert.equal((await running(engine, "api")).length, 2);
    assert.equal((await running(engine, "worker")).length, 1);

    // Every secret readable.
    assert.equal((await t.request("GET", `${ENV}/secrets/service:api/API_SECRET`)).json.value, VALUES.API_SECRET);
    assert.equal((await t.request("GET", `${ENV}/secrets/service:worker/WORKER_TOKEN`)).json.value, VALUES.WORKER_TOKEN);
    assert.equal((await t.request("GET", "/v1/projects/keys/environments/*/secrets/group:external/MAPS_KEY")).json.value, VALUES.MAPS_KEY);
    assert.match((await t.request("GET", `${ENV}/secrets/service:api/SESSION_KEY`)).json.value, /^[A-Za-z0-9_-]{43}$/);

    // Old ciphertexts re-encrypted: every data key re-wrapped by the new KEK, every value under the new data key.
    const keysAfter = sql.prepare("SELECT id, kek_id, wrapped, state FROM data_keys").all() as { id: string; kek_id: string; wrapped: string; state: string }[];
    assert.equal(keysAfter.length, keysBefore.length + 1, "the data-key rotation added a version");
    for (const k of keysAfter) {
      assert.equal(k.kek_id, kek.toKekId);
      assert.ok(!keysBefore.some((b) => b.wrapped === k.wrapped), `data key ${k.id} was re-wrapped`);
    }
    assert.ok(!kek.fromKekIds.includes(kek.toKekId));
    const active = keysAfter.find((k) => k.state === "active")!;
    const valuesAfter = sql.prepare("SELECT id, key_id, ciphertext FROM secret_values").all() as { id: string; key_id: string; ciphertext: string }[];
    assert.equal(valuesAfter.length, valuesBefore.length);
    for (const v of valuesAfter) {
      assert.equal(v.key_id, active.id);
      assert.notEqual(v.ciphertext, valuesBefore.find((b) => b.id === v.id)?.ciphertext);
    }
    const kekFile = readFileSync(join(dataDir, "secrets.kek"), "utf8");
    assert.notEqual(kekFile, kekFileBefore);
    const oldKey = kekFileBefore.split("\n").find((l) => /^[A-Za-z0-9+/]{43}=$/.test(l.trim()));
    assert.ok(oldKey && !kekFile.includes(oldKey), "the old KEK is gone from the key file");

    // A change after the rotation rolls with the new keys.
    await t.request("PUT", `${ENV}/secrets`, { owner: "service:api", values: { API_SECRET: "api-secret-value-0004" } });
    await t.daemon.reconciler.whenIdle();
    assert.equal((await running(engine, "api")).length, 2);

    // A fresh daemon on the rewritten key file: self-test passes, every release (sealed before
    // and after the rotation) opens, every service starts again.
    await t.daemon.stop({ stopInstances: true });
    t = undefined;
    const second = await deployed(dataDir);
    t = second.t;
    assert.ok(t.daemon.secrets.selfTest.values >= 4);
    await t.daemon.reconciler.whenIdle();
    assert.equal((await running(second.engine(), "api")).length, 2);
    assert.equal((await running(second.engine(), "worker")).length, 1);
    const status = await t.request("GET", ENV);
    assert.equal(status.json.status, "live", JSON.stringify(status.json));
  });
});

describe("a corrupted ciphertext", () => {
  let t: TestDaemon;
  let engine: MemoryEngine;
  const envId = () => t.daemon.store.environments.require("keys", "production").id;
  after(() => t?.close());

  test("in a release's sealed env: the deploy fails naming it, nothing starts, the current release keeps serving", async () => {
    const d = await deployed();
    t = d.t;
    engine = d.engine();
    const dir = writeProject(join(tempDir(), "keys"), BLUEPRINT, { "server.js": "", "worker.js": "" });
    await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir });
    await t.daemon.reconciler.whenIdle();
    await setAll(t);
    await t.daemon.reconciler.whenIdle();
    await t.request("PUT", `${ENV}/secrets`, { owner: "service:api", values: { API_SECRET: "api-secret-value-0005" } });
    await t.daemon.reconciler.whenIdle();
    const api = t.daemon.store.services.byName(envId(), "api")!;
    const releases = t.daemon.store.releases.list(api.id);
    assert.deepEqual(releases.map((r) => r.number).sort(), [1, 2]);
    const old = releases.find((r) => r.number === 1)!;
    t.daemon.store.db.sql.prepare("UPDATE releases SET sealed_env = ? WHERE id = ?").run(flip(old.sealedEnv), old.id);
    const fromSeq = t.daemon.store.events.lastSeq();

    const rb = await t.request("POST", `${ENV}/services/api/rollback`, { release: 1 });
    assert.equal(rb.status, 202);
    await t.daemon.reconciler.whenIdle();
    const since = t.daemon.store.events.list({ afterSeq: fromSeq, limit: 5000 });
    const failed = since.find((e) => e.type === "deploy:failed");
    assert.ok(failed, "the deploy failed");
    assert.match((failed!.data as { reason: string }).reason, /sealed environment of release 1 of keys\/production\/api cannot be opened/);
    assert.deepEqual(since.filter((e) => e.type === "instance:started" || e.type === "task:started").map((e) => e.data), [], "nothing was started");
    const live = await running(engine, "api");
    assert.equal(live.length, 2);
    assert.ok(live.every((i) => i.releaseNumber === 2), "release 2 keeps serving");
    const deploys = (await t.request("GET", `${ENV}/deploys?service=api`)).json as { status: string; reason: string }[];
    assert.equal(deploys[0]!.status, "failed");
    assert.match(deploys[0]!.reason, /BERTH_ENV_SEALED_CORRUPT|cannot be opened/);
  });

  test("in a stored secret: the next deploy fails naming the variable, nothing starts, the daemon refuses to restart", async () => {
    const sql = t.daemon.store.db.sql;
    const row = sql.prepare("SELECT id, ciphertext FROM secret_values WHERE name = 'WORKER_TOKEN'").get() as { id: string; ciphertext: string };
    sql.prepare("UPDATE secret_values SET ciphertext = ? WHERE id = ?").run(flip(row.ciphertext), row.id);
    const fromSeq = t.daemon.store.events.lastSeq();
    // A change to another of the worker's inputs makes it cut a release, which must open every secret.
    const set = await t.request("PUT", `${ENV}/secrets`, { owner: "service:worker", values: { OTHER: "other-value-0006" } });
    assert.equal(set.status, 200, JSON.stringify(set.json));
    await t.daemon.reconciler.whenIdle();
    const since = t.daemon.store.events.list({ afterSeq: fromSeq, limit: 5000 });
    const failed = since.filter((e) => e.type === "deploy:failed").map((e) => (e.data as { reason: string }).reason);
    assert.ok(failed.length > 0, "the deploy failed");
    assert.match(failed[0]!, /secret WORKER_TOKEN of service:worker \(environment production\) failed to decrypt/);
    assert.deepEqual(since.filter((e) => e.type === "instance:started" || e.type === "task:started").map((e) => e.data), [], "nothing was started");
    assert.equal((await running(engine, "worker")).length, 1, "the running release keeps serving");
    const get = await t.request("GET", `${ENV}/secrets/service:worker/WORKER_TOKEN`);
    assert.equal(get.status, 500);
    assert.equal(get.json.error.code, "BERTH_SECRETS_DECRYPT_FAILED");

    const dataDir = t.dataDir;
    await t.daemon.stop({ stopInstances: true });
    await assert.rejects(deployed(dataDir), (e: Error & { code?: string }) => e.code === "BERTH_SECRETS_SELFTEST_FAILED" && /WORKER_TOKEN/.test(e.message));
  });
});
