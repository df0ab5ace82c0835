/**
 * Issue 19: which services go to sleep (pure), and where `sleepAfter` comes from — a service's
 * own setting, `previews.sleepAfter` (default 30 minutes) for preview web/static services, never
 * for workers or singletons, `false` turning previews' default off.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { resolveEnvironment } from "../blueprint/environments.ts";
import { parseBlueprint } from "../blueprint/parse.ts";
import { desiredServices } from "../deploy/desired.ts";
import type { SleeperRow } from "../store/repositories/services.ts";
import { dueToSleep, serviceOfBackend } from "./sleep.ts";

const row = (over: Partial<SleeperRow>): SleeperRow => ({
  serviceId: "svc_1",
  environmentId: "env_1",
  project: "shop",
  environment: "pr-7",
  service: "web",
  sleepAfterMs: 60_000,
  asleepSince: null,
  changedAt: new Date(0).toISOString(),
  ...over,
});

describe("dueToSleep", () => {
  const t0 = Date.parse("2026-12-06T05:00:00Z");
  test("idle time counts from the latest of last request, last change and the daemon's start", () => {
    const rows = [row({ service: "web" }), row({ serviceId: "svc_2", service: "api" }), row({ serviceId: "svc_3", service: "docs", changedAt: new Date(t0 + 30_000).toISOString() })];
    const last = new Map([["svc.shop.pr-7.api", t0 + 50_000]]);
    const due = dueToSleep(rows, (b) => last.get(b), t0, t0 + 60_000);
    assert.deepEqual(due.map((d) => [d.row.service, d.idleMs]), [["web", 60_000]]);
    assert.deepEqual(dueToSleep(rows, (b) => last.get(b), t0, t0 + 110_000).map((d) => d.row.service), ["web", "api", "docs"]);
  });
  test("an asleep service is not put to sleep again", () => {
    assert.deepEqual(dueToSleep([row({ asleepSince: new Date(t0).toISOString() })], () => undefined, 0, t0 + 3_600_000), []);
  });
  test("backend names parse back to the service", () => {
    assert.deepEqual(serviceOfBackend("svc.shop.pr-7.web"), { project: "shop", environment: "pr-7", service: "web" });
    assert.equal(serviceOfBackend("berth.acme"), undefined);
  });
});

const yaml = (previews: string, web = "") => `version: 1
project: shop
services:
  web: { type: web, start: node server.js${web} }
  once: { type: web, start: node server.js, singleton: true }
  jobs: { type: worker, start: node worker.js }
  docs: { type: static, build: { command: "true" }, sleepAfter: 5m }
environments:
  staging: { branch: main }
previews: { mode: automatic, baseEnvironment: staging${previews} }
`;

function sleepOf(text: string, environment: string): Record<string, number | null> {
  const parsed = parseBlueprint(text, { file: "berth.yaml" });
  if (!parsed.ok) assert.fail(JSON.stringify(parsed.errors));
  const bp = resolveEnvironment(parsed.blueprint, environment);
  const desired = desiredServices(bp, { project: "shop", environment, staticServer: ["node"], envVersion: "", revisionOf: () => ({ kind: "dir", path: "/x", revision: "r" }) });
  return Object.fromEntries(desired.map((d) => [d.spec.ref.service, d.sleepAfterMs]));
}

describe("sleepAfter in the blueprint", () => {
  test("previews sleep after 30 minutes by default; a service's own setting wins; workers and singletons never sleep", () => {
    assert.deepEqual(sleepOf(yaml(""), "pr-7"), { web: 1_800_000, once: null, jobs: null, docs: 300_000 });
    assert.deepEqual(sleepOf(yaml(", sleepAfter: 10m", ", sleepAfter: 2m"), "pr-7"), { web: 120_000, once: null, jobs: null, docs: 300_000 });
  });
  test("`previews.sleepAfter: false` turns the default off; other environments sleep only when a service says so", () => {
    assert.deepEqual(sleepOf(yaml(", sleepAfter: false"), "pr-7"), { web: null, once: null, jobs: null, docs: 300_000 });
    assert.deepEqual(sleepOf(yaml(""), "staging"), { web: null, once: null, jobs: null, docs: 300_000 });
  });
});
