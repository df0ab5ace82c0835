import assert from "node:assert/strict";
import { test } from "node:test";
import { openDb } from "../db.ts";
import { EnvironmentRepository } from "./environments.ts";
import { ProjectRepository } from "./projects.ts";

const now = "2026-01-01T00:00:00.000Z";

// Every engine call asks which engine runs the environment (issue 20); the answer is cached
// (issue 15: json_extract parses the whole document) and must follow every new record.
test("engineOf follows each recorded blueprint and a removal", () => {
  const db = openDb(":memory:");
  const projects = new ProjectRepository(db);
  const envs = new EnvironmentRepository(db);
  const p = projects.upsert("shop", { kind: "dir", path: "/srv/shop" }, now);
  assert.equal(envs.engineOf("shop", "production"), "local", "not recorded yet");
  const env = envs.record(p.id, "production", { services: [], engine: "swarm" }, now);
  assert.equal(envs.engineOf("shop", "production"), "swarm");
  assert.equal(envs.engineOf("shop", "production"), "swarm", "cached");
  envs.record(p.id, "production", { services: [] }, now);
  assert.equal(envs.engineOf("shop", "production"), "local");
  envs.record(p.id, "production", { services: [], engine: "swarm" }, now);
  assert.equal(envs.engineOf("shop", "production"), "swarm");
  envs.remove(env.id);
  assert.equal(envs.engineOf("shop", "production"), "local");
});
