import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { loadMigrations, openDb } from "./db.ts";
import { EnvironmentRepository } from "./repositories/environments.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-migrate-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("migration 0012 moves each environment's blueprint to its own table, generation kept", () => {
  const path = join(dir, "berth.db");
  const before = openDb(path, loadMigrations().filter((m) => m.version < 12));
  before.sql.prepare("INSERT INTO projects (id, name, source, created_at) VALUES ('prj_1', 'demo', '{}', 'now')").run();
  before.sql
    .prepare("INSERT INTO environments (id, project_id, name, blueprint, generation, created_at, updated_at) VALUES ('env_1', 'prj_1', 'production', ?, 7, 'now', 'now')")
    .run(JSON.stringify({ project: "demo", services: [{ name: "web" }] }));
  before.close();
  const db = openDb(path);
  const envs = new EnvironmentRepository(db);
  const env = envs.require("demo", "production");
  assert.equal(env.generation, 7);
  assert.deepEqual(env.blueprint, { project: "demo", services: [{ name: "web" }] });
  assert.deepEqual(envs.blueprintAt("env_1", 7), env.blueprint);
  assert.equal(envs.blueprintAt("env_1", 6), undefined, "another generation's document is not there");
  // A changed document bumps the generation in both tables.
  const next = envs.record("prj_1", "production", { project: "demo", services: [] }, "later");
  assert.equal(next.generation, 8);
  assert.deepEqual(envs.blueprintAt("env_1", 8), { project: "demo", services: [] });
  db.close();
});
