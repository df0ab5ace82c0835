import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Blueprint, resolveEnvironment as resolve } from "../index.ts";
import { importText, type ImportResult } from "./index.ts";

function valid(r: ImportResult): Blueprint {
  if (!r.validation.ok) assert.fail(`${r.yaml}\n${JSON.stringify(r.validation.errors, null, 1)}`);
  return r.validation.blueprint;
}
const svc = (bp: Blueprint, name: string) => bp.services.find((s) => s.name === name)!;

describe("render.yaml importer", () => {
  const text = `
previewsEnabled: true
previewsExpireAfterDays: 3
services:
  - type: web
    name: API Server
    env: node
    plan: standard
    branch: production
    rootDir: apps/api
    buildCommand: npm ci && npm run build
    startCommand: npm start
    preDeployCommand: npm run migrate
    healthCheckPath: /healthz
    buildFilter: { paths: [apps/api/**] }
    scaling: { minInstances: 1, maxInstances: 3, targetCPUPercent: 60 }
    domains: [api.example.com]
    envVars:
      - key: DATABASE_URL
        fromDatabase: { name: main-db, property: connectionString }
      - key: REDIS_URL
        fromService: { type: redis, name: cache, property: connectionString }
      - key: SELF_URL
        fromService: { type: web, name: API Server, envVarKey: RENDER_EXTERNAL_URL }
      - key: SESSION_SECRET
        generateValue: true
      - key: STRIPE_KEY
        sync: false
      - key: TEMPLATE
        value: "hello \${name}"
      - fromGroup: shared
  - type: pserv
    name: search
    runtime: docker
    disk: { name: data, mountPath: /var/data, sizeGB: 10 }
  - type: worker
    name: jobs
    runtime: python
    startCommand: celery worker
  - type: cron
    name: nightly
    runtime: node
    schedule: "0 3 * * *"
    startCommand: node nightly.js
  - type: web
    name: site
    runtime: static
    buildCommand: npm run build
    staticPublishPath: ./build
    routes:
      - { type: rewrite, source: /*, destination: /index.html }
      - { type: redirect, source: /old, destination: /new }
    headers: [{ path: /*, name: X-Frame-Options, value: DENY }]
  - type: redis
    name: cache
    ipAllowList: []
    maxmemoryPolicy: allkeys-lru
databases:
  - name: main-db
    databaseName: app
    user: app
    postgresMajorVersion: "15"
envVarGroups:
  - name: shared
    envVars:
      - { key: LOG_LEVEL, value: info }
`;
  test("maps the whole spec into a valid blueprint", () => {
    const r = importText("render", text, { file: "render.yaml", project: "demo" });
    const bp = valid(r);
    const api = svc(bp, "api-server");
    assert.ok(api.type === "web");
    assert.equal(api.build.runtime, "node");
    assert.equal(api.build.rootDir, "apps/api");
    assert.deepEqual(api.build.paths, ["apps/api/**"]);
    assert.equal(api.start, "npm start");
    assert.equal(api.preDeploy, "npm run migrate");
    assert.equal(api.health.path, "/healthz");
    assert.deepEqual(api.scaling, { min: 1, max: 3, targetCpuPercent: 60 });
    assert.deepEqual(api.limits, { memoryBytes: 2 * 1024 ** 3, cpuMillicores: 1000 });
    assert.deepEqual(api.env.DATABASE_URL, { kind: "fromDatabase", name: "main-db", property: "connectionString" });
    assert.deepEqual(api.env.REDIS_URL, { kind: "fromKeyValue", name: "cache", property: "url" });
    assert.deepEqual(api.env.SELF_URL, { kind: "fromService", name: "api-server", property: "publicUrl" });
    assert.deepEqual(api.env.SESSION_SECRET, { kind: "generate", encoding: "secret", lengthBytes: 32 });
    assert.deepEqual(api.env.STRIPE_KEY, { kind: "secret" });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: blueprint interpolation syntax, not a JS template
    assert.deepEqual(api.env.TEMPLATE, { kind: "literal", value: "hello ${name}" }, "a literal ${ is escaped, not interpolated");
    assert.deepEqual(api.envGroups, ["shared"]);
    const search = svc(bp, "search");
    assert.ok(search.type === "private" && search.build.runtime === "custom");
    assert.deepEqual(search.disks, [{ name: "data", mountPath: "/var/data", sizeBytes: 10 * 1024 ** 3 }]);
    assert.equal(svc(bp, "jobs").type, "worker");
    const nightly = svc(bp, "nightly");
    assert.ok(nightly.type === "cron" && nightly.schedule === "0 3 * * *" && nightly.command === "node nightly.js");
    const site = svc(bp, "site");
    assert.ok(site.type === "static");
    assert.equal(site.publishDir, "./build");
    assert.equal(site.spa, true);
    assert.deepEqual(site.redirects, [{ from: "/old", to: "/new", status: 301 }]);
    assert.deepEqual(bp.keyValues, [{ name: "cache", kind: "redis", version: 7, eviction: "allkeys-lru", persistence: "rdb" }]);
    assert.equal(bp.databases[0]?.version, 15);
    assert.equal(bp.databases[0]?.databaseName, "app");
    assert.deepEqual(bp.environments, [{ name: "production", branch: "production", autoDeploy: true, approvalRequired: false }]);
    assert.deepEqual(bp.previews, { mode: "automatic", expireAfterDays: 3, maxPreviews: 5, branches: [], envGroups: [], data: { mode: "empty" }, sleepAfterMs: 1_800_000 });
    assert.ok(r.warnings.some((w) => /runtime 'docker'/.test(w.message) && w.line > 1), "docker runtime is an approximation, located in the source");
    assert.match(r.yaml, /# approx: runtime 'docker'/);
    assert.match(r.yaml, /^version: 1$/m);
  });

  test("junk never throws", () => {
    for (const junk of ["", "services: 5", "services: [1, null, {type: web}]", "databases: [{}]", "- a", "{{{", "services:\n  - name: x\n    envVars: [{key: 1}, {fromService: {}}]"]) {
      const r = importText("render", junk, { file: "render.yaml" });
      assert.equal(typeof r.yaml, "string");
    }
  });
});

describe("railway importer", () => {
  test("railway.toml with build, deploy and environment overrides", () => {
    const r = importText("railway", `
[build]
builder = "NIXPACKS"
buildCommand = "npm run build"
watchPatterns = ["apps/api/**"]

[deploy]
startCommand = "npm run start:prod"
preDeployCommand = ["npx prisma migrate deploy"]
healthcheckPath = "/health"
healthcheckTimeout = 30
restartPolicyType = "ON_FAILURE"
restartPolicyMaxRetries = 5
numReplicas = 2

[environments.staging.deploy]
numReplicas = 1
`, { file: "railway.toml", project: "api" });
    const bp = valid(r);
    const app = svc(bp, "app");
    assert.ok(app.type === "web");
    assert.equal(app.start, "npm run start:prod");
    assert.equal(app.preDeploy, "npx prisma migrate deploy");
    assert.equal(app.health.path, "/health");
    assert.equal(app.health.deployTimeoutMs, 30_000);
    assert.deepEqual(app.restart, { policy: "on-failure", maxRetries: 5 });
    assert.equal(app.replicas, 2);
    assert.deepEqual(app.build.paths, ["apps/api/**"]);
    assert.equal((svc(resolve(bp, "staging"), "app") as { replicas: number }).replicas, 1);
  });

  test("railway.json cron service; invalid JSON is a warning", () => {
    const bp = valid(importText("railway", `{"deploy": {"startCommand": "node job.js", "cronSchedule": "*/5 * * * *"}}`, { file: "railway.json" }));
    const app = svc(bp, "app");
    assert.ok(app.type === "cron" && app.command === "node job.js" && app.schedule === "*/5 * * * *");
    const bad = importText("railway", "{ nope", { file: "railway.json" });
    assert.ok(bad.warnings.length > 0);
  });
});

describe("Procfile + app.json importer", () => {
  test("process types, release, scheduler singleton, formation, addons, env and review apps", () => {
    const r = importText("procfile", "web: bundle exec puma -C config/puma.rb\nworker: bundle exec sidekiq\nclock: bundle exec clockwork clock.rb\nrelease: bundle exec rails db:migrate\n", {
      file: "Procfile",
      project: "shop",
      companion: {
        file: "app.json",
        text: JSON.stringify({
          name: "Shop",
          formation: { web: { quantity: 2 }, worker: { quantity: 3 } },
          addons: ["heroku-postgresql:standard-0", { plan: "heroku-redis:mini" }, "papertrail"],
          env: { SECRET_KEY_BASE: { generator: "secret" }, RAILS_ENV: { value: "production" }, STRIPE_KEY: { description: "Stripe", required: true } },
          scripts: { postdeploy: "bundle exec rails db:seed" },
          environments: { review: { addons: ["heroku-postgresql"] } },
        }),
      },
    });
    const bp = valid(r);
    const web = svc(bp, "web");
    assert.ok(web.type === "web" && web.replicas === 2 && web.preDeploy === "bundle exec rails db:migrate" && web.initialDeploy === "bundle exec rails db:seed");
    assert.equal((svc(bp, "worker") as { replicas: number }).replicas, 3);
    assert.ok(svc(bp, "clock").type === "worker" && (svc(bp, "clock") as { singleton: boolean }).singleton);
    assert.equal(bp.services.some((s) => s.name === "release"), false);
    const env = bp.envGroups.find((g) => g.name === "app")!.env;
    assert.deepEqual(env.DATABASE_URL, { kind: "fromDatabase", name: "db", property: "connectionString" });
    assert.deepEqual(env.REDIS_URL, { kind: "fromKeyValue", name: "redis", property: "url" });
    assert.deepEqual(env.SECRET_KEY_BASE, { kind: "generate", encoding: "secret", lengthBytes: 32 });
    assert.deepEqual(env.STRIPE_KEY, { kind: "secret", description: "Stripe" });
    assert.equal(bp.previews.mode, "automatic");
    assert.ok(r.warnings.some((w) => /papertrail/.test(w.message)));
  });
});

describe("docker-compose importer", () => {
  test("datastores become managed resources and connection strings references", () => {
    const r = importText("compose", `
services:
  db:
    image: postgres:15-alpine
    environment: { POSTGRES_DB: shop, POSTGRES_PASSWORD: pw }
  cache:
    image: redis:7
    command: redis-server --appendonly yes
  api:
    build: ./apps/api
    command: ["node", "server.js"]
    ports: ["8080:3000"]
    environment:
      - DATABASE_URL=postgres://postgres:pw@db:5432/shop
      - REDIS_URL=redis://cache:6379
      - LOG_LEVEL=debug
      - API_TOKEN
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:3000/health"]
      interval: 30s
      timeout: 5s
      retries: 3
      start_period: 1m
    depends_on:
      db: { condition: service_healthy }
    deploy:
      replicas: 2
      resources: { limits: { memory: 512M, cpus: "0.5" } }
    restart: on-failure:5
  worker:
    build: ./apps/worker
    command: node worker.js
    volumes: ["jobdata:/var/jobs", "./src:/app/src"]
volumes: { jobdata: {} }
`, { file: "docker-compose.yml", project: "shop" });
    const bp = valid(r);
    assert.deepEqual(bp.databases.map((d) => [d.name, d.version, d.databaseName]), [["db", 15, "shop"]]);
    assert.deepEqual(bp.keyValues.map((k) => [k.name, k.persistence]), [["cache", "aof"]]);
    const api = svc(bp, "api");
    assert.ok(api.type === "web");
    assert.equal(api.port, 3000);
    assert.equal(api.start, "node server.js");
    assert.equal(api.build.rootDir, "apps/api");
    assert.deepEqual(api.health, { path: "/health", intervalMs: 30_000, timeoutMs: 5000, unhealthyThreshold: 3, healthyThreshold: 1, graceMs: 60_000, deployTimeoutMs: 60_000 });
    assert.equal(api.replicas, 2);
    assert.deepEqual(api.limits, { memoryBytes: 512 * 1024 ** 2, cpuMillicores: 500 });
    assert.deepEqual(api.restart, { policy: "on-failure", maxRetries: 5 });
    assert.deepEqual(api.env.DATABASE_URL, { kind: "fromDatabase", name: "db", property: "connectionString" });
    assert.deepEqual(api.env.REDIS_URL, { kind: "fromKeyValue", name: "cache", property: "url" });
    assert.deepEqual(api.env.API_TOKEN, { kind: "secret" });
    const worker = svc(bp, "worker");
    assert.ok(worker.type === "worker");
    assert.deepEqual(worker.disks, [{ name: "jobdata", mountPath: "/var/jobs", sizeBytes: 1024 ** 3 }]);
    assert.match(r.yaml, /depends_on: db/);
  });
});


test("issue 14: a PostgreSQL major Berth cannot provide is imported as the nearest one above, with a note where it was written", () => {
  const r = importText("render", "databases:\n  - name: db\n    postgresMajorVersion: 13\n", { file: "render.yaml", project: "demo" });
  assert.ok(r.validation.ok, JSON.stringify(r.validation));
  assert.match(r.yaml, /postgres: 14/);
  const note = r.warnings.find((w) => /PostgreSQL 13 cannot be provided; imported as 14/.test(w.message));
  assert.ok(note, JSON.stringify(r.warnings));
  const compose = importText("compose", "services:\n  db:\n    image: postgres:12\n", { file: "docker-compose.yml", project: "demo" });
  assert.ok(compose.validation.ok);
  assert.match(compose.yaml, /postgres: 14/);
  assert.ok(compose.warnings.some((w) => /PostgreSQL 12 cannot be provided/.test(w.message)));
});
