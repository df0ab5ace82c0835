import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { isBerthError } from "../core/errors.ts";
import { type Blueprint, parseBlueprint, resolveEnvironment, type Service } from "./index.ts";

const sketch = readFileSync(fileURLToPath(new URL("./testdata/architecture-sketch.yaml", import.meta.url)), "utf8");

function parseOk(text: string): Blueprint {
  const r = parseBlueprint(text, { file: "berth.yaml" });
  if (!r.ok) assert.fail(JSON.stringify(r.errors, null, 2));
  return r.blueprint;
}

const svc = (bp: Blueprint, name: string): Service => bp.services.find((s) => s.name === name)!;

describe("parseBlueprint", () => {
  test("the ARCHITECTURE.md sketch of seed 001 parses as written", () => {
    const bp = parseOk(sketch);
    assert.equal(bp.project, "reminders");
    assert.deepEqual(bp.services.map((s) => `${s.name}:${s.type}`), ["api:web", "worker:worker", "scheduler:worker", "web:web"]);
    const api = svc(bp, "api");
    assert.equal(api.type, "web");
    if (api.type !== "web") return;
    assert.equal(api.port, 3801);
    assert.equal(api.health.path, "/health");
    assert.equal(api.health.timeoutMs, 30_000);
    assert.deepEqual(api.scaling, { min: 1, max: 4, targetCpuPercent: 70, targetMemoryPercent: 80 });
    assert.deepEqual(api.restart, { policy: "on-failure", maxRetries: 5 });
    assert.equal(api.build.rootDir, "apps/api");
    assert.equal(api.build.command, "npm ci && npm run build");
    assert.equal(api.preDeploy, "npx prisma migrate deploy");
    assert.deepEqual(api.env.DATABASE_URL, { kind: "fromDatabase", name: "db", property: "connectionString" });
    assert.deepEqual(api.env.REDIS_URL, { kind: "fromKeyValue", name: "cache", property: "url" });
    assert.deepEqual(api.env.JWT_SECRET, { kind: "generate", encoding: "secret", lengthBytes: 32 });
    assert.deepEqual(api.env.API_URL, {
      kind: "interpolated",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: blueprint interpolation syntax, not a JS template
      template: "https://${api.host}",
      parts: [{ kind: "text", text: "https://" }, { kind: "ref", target: "service", name: "api", property: "host" }],
    });
    const scheduler = svc(bp, "scheduler");
    assert.ok(scheduler.type === "worker" && scheduler.singleton && scheduler.replicas === 1);
    const [db] = bp.databases;
    assert.equal(db?.version, 15);
    assert.equal(db?.pooled, true, "pooled because pooledConnectionString is referenced");
    assert.equal(db?.pitrWindowMs, 7 * 86_400_000);
    assert.deepEqual(db?.backups, { schedule: "0 3 * * *", keep: { daily: 7, weekly: 4, monthly: 0 } });
    assert.deepEqual(bp.keyValues[0], { name: "cache", kind: "redis", version: 7, maxmemoryBytes: 256 * 1024 * 1024, eviction: "volatile-lru", persistence: "rdb" });
    assert.deepEqual(bp.envGroups[0]?.env.TWILIO_ACCOUNT_SID, { kind: "secret" });
    assert.deepEqual(bp.environments, [
      { name: "staging", branch: "develop", autoDeploy: true, approvalRequired: false },
      { name: "production", branch: "main", autoDeploy: true, approvalRequired: true },
    ]);
  });

  test("resolveEnvironment applies overrides and exposes branch and approval", () => {
    const bp = parseOk(sketch);
    const prod = resolveEnvironment(bp, "production");
    assert.equal(svc(prod, "worker").type === "worker" && (svc(prod, "worker") as { replicas: number }).replicas, 4);
    assert.deepEqual(prod.environment, { name: "production", branch: "main", autoDeploy: true, approvalRequired: true });
    const staging = resolveEnvironment(bp, "staging");
    assert.equal((svc(staging, "worker") as { replicas: number }).replicas, 2);
    assert.equal(staging.environment?.branch, "develop");
    assert.throws(() => resolveEnvironment(bp, "qa"), (e) => isBerthError(e) && e.code === "BERTH_BLUEPRINT_ENVIRONMENT_UNKNOWN" && /staging, production/.test(e.hint));
  });

  test("null in an override removes a field; previews apply per-service preview settings", () => {
    const bp = parseOk(`version: 1
project: p
services:
  api: { type: web, start: x, domains: [a.example.com], preview: { replicas: 1, env: { MODE: preview } }, scaling: { min: 2, max: 5, cpu: 60% } }
  job: { type: cron, command: x, schedule: "@daily", preview: { replicas: 0 } }
environments:
  production: { branch: main, services: { api: { domains: null } } }
previews: { mode: automatic, expireAfterDays: 3 }
`);
    const prod = resolveEnvironment(bp, "production");
    const prodApi = svc(prod, "api");
    assert.ok(prodApi.type === "web");
    assert.deepEqual(prodApi.domains, []);
    const preview = resolveEnvironment(bp, "preview-42");
    assert.deepEqual(preview.services.map((s) => s.name), ["api"]);
    const api = svc(preview, "api");
    assert.ok(api.type === "web");
    assert.equal(api.replicas, 1);
    assert.equal(api.scaling, undefined);
    assert.deepEqual(api.env.MODE, { kind: "literal", value: "preview" });
    assert.equal(preview.environment?.name, "preview-42");
  });

  test("an environment's env var replaces the base source instead of merging with it", () => {
    const bp = parseOk(`version: 1
project: p
services:
  api: { type: web, start: x, env: { DB: { fromDatabase: db }, MODE: a } }
databases:
  db: {}
environments:
  staging: { services: { api: { env: { DB: { value: "postgres://fixture" } } } } }
`);
    const api = svc(resolveEnvironment(bp, "staging"), "api");
    assert.deepEqual(api.env.DB, { kind: "literal", value: "postgres://fixture" });
    assert.deepEqual(api.env.MODE, { kind: "literal", value: "a" });
  });

  test("defaults, durations, sizes and cron settings are normalized into unit-named numbers", () => {
    const bp = parseOk(`version: 1
project: p
services:
  w: { type: worker, start: node w.js, shutdownDelay: 90, limits: { memory: 1gb, cpu: 500m }, disks: [{ name: d, mountPath: /data, size: 10gb }] }
  c:
    type: cron
    command: node job.js
    schedule: "*/15 * * * *"
    timezone: Europe/Zurich
    concurrency: allow
    maxConcurrent: 3
    timeout: 20m
    retries: { max: 4, backoff: 5s }
    missedRuns: run-once
  s: { type: static, build: npm run build, spa: true, redirects: [{ from: /old, to: /new }] }
`);
    const w = svc(bp, "w");
    assert.ok(w.type === "worker");
    assert.equal(w.shutdownDelayMs, 90_000);
    assert.deepEqual(w.limits, { memoryBytes: 1024 ** 3, cpuMillicores: 500 });
    assert.deepEqual(w.disks, [{ name: "d", mountPath: "/data", sizeBytes: 10 * 1024 ** 3 }]);
    assert.deepEqual(w.restart, { policy: "always" });
    assert.equal(w.health.graceMs, 5_000);
    const c = svc(bp, "c");
    assert.ok(c.type === "cron");
    assert.equal(c.timezone, "Europe/Zurich");
    assert.equal(c.maxConcurrent, 3);
    assert.equal(c.timeoutMs, 20 * 60_000);
    assert.deepEqual(c.retries, { max: 4, backoffMs: 5000, maxBackoffMs: 600_000, factor: 2 });
    assert.equal(c.missedRuns, "run-once");
    const s = svc(bp, "s");
    assert.ok(s.type === "static");
    assert.equal(s.publishDir, "dist");
    assert.equal(s.build.runtime, "static");
    assert.deepEqual(s.redirects, [{ from: "/old", to: "/new", status: 301 }]);
    assert.deepEqual(bp.environments, [{ name: "production", branch: "main", autoDeploy: true, approvalRequired: false }]);
  });

  test("Render-style aliases are accepted with a located deprecation warning", () => {
    const r = parseBlueprint(`version: 1
project: p
services:
  api:
    type: web
    startCommand: npm start
    numInstances: 2
    healthCheckPath: /healthz
    env:
      KEY: { sync: false }
`, { file: "berth.yaml" });
    assert.ok(r.ok);
    const api = svc(r.blueprint, "api");
    assert.ok(api.type === "web");
    assert.equal(api.start, "npm start");
    assert.equal(api.replicas, 2);
    assert.equal(api.health.path, "/healthz");
    assert.deepEqual(api.env.KEY, { kind: "secret" });
    const w = r.warnings.find((x) => x.message.includes("'startCommand'"));
    assert.ok(w);
    assert.deepEqual([w.line, w.column, w.code], [6, 5, "BERTH_BLUEPRINT_DEPRECATED_ALIAS"]);
    assert.match(w.hint, /Rename `startCommand` to `start`/);
  });

  test("errors inside an aliased field point at the text the user wrote", () => {
    const r = parseBlueprint("version: 1\nproject: p\nservices:\n  api:\n    type: web\n    numInstances: many\n", { file: "f" });
    assert.ok(!r.ok);
    assert.deepEqual([r.errors[0]?.line, r.errors[0]?.column], [6, 19]);
  });

  test("bad input never throws: empty, scalar, list and alias bombs", () => {
    const bomb = `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n`;
    for (const text of ["", "42", "- a\n- b", "version: 1", ": : :", "\t\tx", bomb]) {
      const r = parseBlueprint(text, { file: "f" });
      assert.equal(r.ok, false, text);
      if (!r.ok) assert.ok(r.errors.every((e) => e.line >= 1 && e.column >= 1 && e.hint.length > 0));
    }
  });

  test("several independent mistakes are all reported, in file order", () => {
    const r = parseBlueprint("version: 1\nproject: p\nservices:\n  a: { type: web, prot: 1 }\n  b: { type: worker, replica: 2 }\n", { file: "f" });
    assert.ok(!r.ok);
    assert.deepEqual(r.errors.map((e) => [e.line, e.hint]), [[4, "Did you mean 'port'?"], [5, "Did you mean 'replicas'?"]]);
  });
});
