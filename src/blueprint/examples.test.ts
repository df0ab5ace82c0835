import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseBlueprint, resolveEnvironment } from "./index.ts";

const examples = fileURLToPath(new URL("../../examples/", import.meta.url));
const SEEDS = ["trip-playlists", "reminders", "webhook-monitor", "book-tracker", "next-fastify"];

test("every seed stack has an example berth.yaml that validates in every environment", () => {
  const present = readdirSync(examples).filter((d) => SEEDS.includes(d));
  assert.deepEqual(present.sort(), [...SEEDS].sort());
  for (const dir of SEEDS) {
    const file = join(examples, dir, "berth.yaml");
    const r = parseBlueprint(readFileSync(file, "utf8"), { file });
    assert.ok(r.ok, `${dir}: ${r.ok ? "" : r.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join("; ")}`);
    assert.deepEqual(r.warnings, [], dir);
    for (const env of r.blueprint.environments) assert.equal(resolveEnvironment(r.blueprint, env.name).environment?.name, env.name);
  }
});

test("seed specifics survive normalization", () => {
  const load = (dir: string) => {
    const r = parseBlueprint(readFileSync(join(examples, dir, "berth.yaml"), "utf8"), { file: dir });
    assert.ok(r.ok);
    return r.blueprint;
  };
  const reminders = resolveEnvironment(load("reminders"), "production");
  const scheduler = reminders.services.find((s) => s.name === "scheduler");
  assert.ok(scheduler?.type === "worker" && scheduler.singleton && scheduler.replicas === 1);
  assert.equal(reminders.services.find((s) => s.name === "worker")?.type === "worker" && (reminders.services.find((s) => s.name === "worker") as { replicas: number }).replicas, 4);
  const monitor = load("webhook-monitor");
  assert.deepEqual(monitor.databases[0]?.backups?.keep, { daily: 7, weekly: 4, monthly: 12 });
  assert.equal(monitor.keyValues[0]?.persistence, "aof");
  const books = load("book-tracker");
  const api = books.services.find((s) => s.name === "api");
  assert.ok(api?.type === "web" && api.disks[0]?.mountPath === "/data/uploads" && api.health.path === "/");
  const nf = load("next-fastify");
  assert.deepEqual(nf.databases[0]?.allowFrom, ["api"]);
});
