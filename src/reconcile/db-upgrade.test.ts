/** `berth db upgrade` is a recorded operation: serialized per database, progress persisted, services rolled. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseBlueprint } from "../blueprint/parse.ts";
import { systemClock } from "../core/clock.ts";
import { EventBus } from "../observe/event-bus.ts";
import { openStore } from "../store/store.ts";
import { dbUpgradeOperation } from "./db-upgrade.ts";
import { OperationRunner } from "./operations.ts";

const BP = `version: 1\nproject: demo\nservices:\n  api: { type: worker, start: node a.js, env: { DATABASE_URL: { fromDatabase: db.connectionString } } }\n  other: { type: worker, start: node o.js }\ndatabases:\n  db: { postgres: 15 }\n`;

test("a db-upgrade operation runs the provider's upgrade under the database's key and rolls the services using it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-dbup-"));
  const store = openStore(join(dir, "berth.db"));
  const bus = new EventBus({ repo: store.events, clock: systemClock });
  const runner = new OperationRunner({ repo: store.operations, events: bus, clock: systemClock });
  try {
    const parsed = parseBlueprint(BP, { file: "berth.yaml" });
    assert.ok(parsed.ok);
    const p = store.projects.upsert("demo", { kind: "dir", path: dir }, new Date().toISOString());
    store.environments.record(p.id, "production", parsed.blueprint, new Date().toISOString());
    const refreshed: string[] = [];
    const pg = {
      upgrade: async (name: string, to: number, progress?: (s: string, d?: string) => void) => {
        progress?.("copy", name);
        return { from: 15, to, previous: "pg_old", instance: "pg_new", port: 5999, databases: ["db"], tables: 3, ms: 1 };
      },
    };
    const handler = dbUpgradeOperation({ store, resources: { providers: async () => ({ pg }) as never, refresh: async (_env, change) => void refreshed.push(`${change?.kind}:${change?.name}:${change?.actor}`) } });
    runner.register(handler);
    await runner.start();
    const op = runner.enqueue("db-upgrade", { project: "demo", environment: "production", name: "db", to: 16 }, { actor: "alice" });
    assert.equal(op.key, "db:demo/production/db");
    await runner.whenIdle();
    const done = store.operations.byId(op.id)!;
    assert.equal(done.state, "succeeded", JSON.stringify(done.error));
    assert.deepEqual((done.result as { rolling: string[] }).rolling, ["api"]);
    assert.deepEqual(refreshed, ["db:db:alice"]);
  } finally {
    await runner.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
