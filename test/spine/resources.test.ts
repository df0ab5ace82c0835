import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";
import pg from "pg";
import { MemoryEngine } from "../../src/engine/memory/memory-engine.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";

const BLUEPRINT = `version: 1
project: shop
services:
  api:
    type: web
    start: node server.js
    env:
      DATABASE_URL: { fromDatabase: db.connectionString }
      LEGACY_URL: "postgres://\${db.user}:\${db.password}@\${db.hostport}/\${db.database}"
      REDIS_URL: { fromKeyValue: cache.url }
databases:
  db: { postgres: 15 }
keyValues:
  cache: { redis: 7, maxmemory: 64mb, eviction: allkeys-lru, persistence: none }
`;

let t: TestDaemon | undefined;
after(async () => {
  await t?.close();
});

test("databases and key-value stores are provisioned before releases; services get working URLs", async () => {
  const seen: Record<string, string>[] = [];
  t = await startTestDaemon({
    engine: ({ bus, openEnv }) =>
      new MemoryEngine({
        events: bus,
        openEnv,
        startBehaviour: (_spec, _release, env) => {
          seen.push({ ...env });
          return "run";
        },
      }),
  });
  const dir = writeProject(join(tempDir(), "shop"), BLUEPRINT, { "server.js": "" });
  const res = await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  await t.daemon.reconciler.whenIdle();
  const env = await t.request("GET", "/v1/projects/shop/environments/production");
  assert.equal(env.json.status, "live", JSON.stringify(env.json));
  const api = seen.at(-1)!;
  assert.match(api.DATABASE_URL!, /^postgresql:\/\//);
  assert.match(api.LEGACY_URL!, /^postgres:\/\//);
  for (const url of [api.DATABASE_URL!, api.LEGACY_URL!]) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    assert.equal((await client.query("SELECT 1 AS one")).rows[0].one, 1);
    await client.end();
  }
  assert.match(api.REDIS_URL!, /^redis:\/\//);
  // The database password is in the secret store, never in the event log.
  const password = new URL(api.DATABASE_URL!).password;
  assert.ok(password.length >= 16);
  assert.doesNotMatch(JSON.stringify(t.daemon.store.events.list({ limit: 5000 })), new RegExp(password));
});
