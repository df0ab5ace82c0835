/**
 * Promotion end to end (issue 19), through the compiled CLI against a real daemon (memory
 * engine, real builds of a tiny app): `berth promote --all --from staging --to production`
 * deploys to production the very artifact staging runs — the same build digest, although the
 * directory has changed since (a rebuild would differ) — with production's own env; a service
 * staging does not run live is refused; a single service is promoted alone; a production that
 * requires approval holds a promotion like any deploy.
 */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { MemoryEngine } from "../../src/engine/memory/memory-engine.ts";
import { berth, type CliRun, scratch } from "../helpers/cli.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";

const BLUEPRINT = (gate = false) => `version: 1
project: shop
services:
  web:
    type: web
    start: node server.js
    env:
      GREETING: hello
  worker:
    type: worker
    start: node worker.js
environments:
  staging:
    branch: develop
    services:
      web: { env: { APP_ENV: staging } }
  production:
    branch: main${gate ? "\n    approval: required" : ""}
    services:
      web: { env: { APP_ENV: production }, replicas: 2 }
`;
const server = (v: string) => `require("node:http").createServer((q, s) => s.end("${v}")).listen(process.env.PORT);\n`;

interface Started {
  environment: string;
  service: string;
  digest: string;
  env: Readonly<Record<string, string>>;
}

describe("promotion from staging to production", () => {
  const world = scratch("berth-promote-cli-");
  const dir = writeProject(join(world.dir, "shop"), BLUEPRINT(), { "server.js": server("v1"), "worker.js": "setInterval(() => {}, 1000);\n" });
  const dataDir = tempDir("berth-promote-");
  const started: Started[] = [];
  let crashStagingWorker = true;
  let t: TestDaemon;
  const cli = (args: string[]): Promise<CliRun> => berth(args, { scratch: world, cwd: dir, env: { BERTH_URL: t.daemon.url, BERTH_TOKEN: t.token, BERTH_CLI_CONFIG: "/nonexistent/cli.json" } });
  const ok = (r: CliRun, what: string) => assert.equal(r.status, 0, `${what}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  const releases = async (env: string, service: string) =>
    JSON.parse((await cli(["releases", service, "--env", env, "--json"])).stdout) as { number: number; digest: string; desired: boolean }[];
  const current = async (env: string, service: string) => (await releases(env, service)).find((r) => r.desired)!;
  const lastStart = (environment: string, service: string) => started.findLast((s) => s.environment === environment && s.service === service);

  before(async () => {
    t = await startTestDaemon({
      dataDir,
      listen: true,
      engine: ({ bus, openEnv }) =>
        new MemoryEngine({
          events: bus,
          openEnv,
          startBehaviour: (spec, release, env) => {
            started.push({ environment: spec.ref.environment, service: spec.ref.service, digest: release.artifact.digest, env });
            return crashStagingWorker && spec.ref.environment === "staging" && spec.ref.service === "worker" ? "crash" : "run";
          },
        }),
    });
  });
  after(async () => {
    await t?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("a service without a live release in staging is refused, naming it; nothing is deployed", async () => {
    const staging = await cli(["deploy", "--env", "staging"]);
    assert.equal(staging.status, 1, `the worker crashes in staging: ${staging.stderr}`);
    const r = await cli(["promote", "--all", "--from", "staging", "--to", "production"]);
    assert.equal(r.status, 5, r.stderr);
    assert.match(r.stderr, /error: shop\/staging has no live release of worker \[BERTH_PROMOTE_NOT_LIVE\]/);
    assert.match(r.stderr, /hint: Promotion deploys what the source environment runs/);
    const single = await cli(["promote", "web", "--from", "staging", "--to", "production"]);
    assert.equal(single.status, 2, single.stderr);
    assert.match(single.stderr, /shop\/production was never deployed/);
    assert.match(single.stderr, /--all/);
    assert.equal((await t.request("GET", "/v1/projects/shop/environments/production")).status, 404);
    // A token scoped to another project cannot promote in this one.
    const scoped = t.daemon.store.tokens.create({ name: "blog-ci", role: "deployer", projects: ["blog"] }, new Date().toISOString()).token;
    const foreign = await berth(["promote", "--all", "--from", "staging", "--to", "production", "--project", "shop"], { scratch: world, cwd: dir, env: { BERTH_URL: t.daemon.url, BERTH_TOKEN: scoped, BERTH_CLI_CONFIG: "/nonexistent/cli.json" } });
    assert.equal(foreign.status, 3, foreign.stderr);
    assert.match(foreign.stderr, /token 'blog-ci' with role deployer may not access project shop \[BERTH_FORBIDDEN\]/);
  });

  test("--all deploys staging's very artifacts to production, with production's env", async () => {
    crashStagingWorker = false;
    ok(await cli(["deploy", "--env", "staging", "--retry"]), "staging deploys");
    const stagingWeb = await current("staging", "web");
    const stagingWorker = await current("staging", "worker");
    // The directory moves on: a build of it now would give another artifact.
    writeFileSync(join(dir, "server.js"), server("v2-not-in-staging"));

    const r = await cli(["promote", "--all", "--from", "staging", "--to", "production"]);
    ok(r, "berth promote --all");
    assert.match(r.stderr, new RegExp(`web: staging release #${stagingWeb.number}, artifact ${stagingWeb.digest.slice(0, 12)} -> shop/production`));
    assert.match(r.stderr, /shop\/production: live/);
    assert.match(r.stdout, /web\s+web\s+#1\s+2\/2\s+healthy/, "production's own replicas");

    const prodWeb = await current("production", "web");
    const prodWorker = await current("production", "worker");
    assert.equal(prodWeb.digest, stagingWeb.digest, "the same build digest as staging");
    assert.equal(prodWorker.digest, stagingWorker.digest);
    const web = lastStart("production", "web")!;
    assert.equal(web.digest, stagingWeb.digest, "production instances run staging's artifact");
    assert.equal(web.env.APP_ENV, "production", "with production's env");
    assert.equal(web.env.GREETING, "hello");
    assert.equal(lastStart("staging", "web")!.env.APP_ENV, "staging");
    const events = (await t.request("GET", "/v1/events?project=shop&environment=production&limit=500")).json as { type: string; data: Record<string, unknown> }[];
    assert.equal(events.filter((e) => e.type === "deploy:build:started").length, 0, "nothing was built for production");
    const promoted = events.find((e) => e.type === "deploy:promoted");
    assert.deepEqual(promoted?.data.services, [
      { service: "web", release: stagingWeb.number, digest: stagingWeb.digest },
      { service: "worker", release: stagingWorker.number, digest: stagingWorker.digest },
    ]);
  });

  test("a single service is promoted alone: the others keep their release", async () => {
    ok(await cli(["deploy", "--env", "staging"]), "staging deploys v2");
    const stagingWeb = await current("staging", "web");
    const workerBefore = await current("production", "worker");
    const r = await cli(["promote", "web", "--from", "staging", "--to", "production"]);
    ok(r, "berth promote web");
    const prodWeb = await current("production", "web");
    assert.equal(prodWeb.digest, stagingWeb.digest);
    assert.equal(prodWeb.number, 2);
    assert.deepEqual(await current("production", "worker"), workerBefore, "the worker was not touched");
    assert.equal(lastStart("production", "web")!.env.APP_ENV, "production");
  });

  test("a production that requires approval holds the promotion until an owner approves it", async () => {
    writeFileSync(join(dir, "berth.yaml"), BLUEPRINT(true));
    writeFileSync(join(dir, "server.js"), server("v3"));
    ok(await cli(["deploy", "--env", "staging"]), "staging deploys v3 with the gated blueprint");
    const stagingWeb = await current("staging", "web");
    const r = await cli(["promote", "--all", "--from", "staging", "--to", "production"]);
    ok(r, "berth promote (held)");
    const id = /deploy (pdep_[a-z0-9]+) \(promotion of web, worker from staging/.exec(r.stdout)?.[1];
    assert.ok(id, r.stdout);
    assert.notEqual((await current("production", "web")).digest, stagingWeb.digest, "nothing deployed yet");
    ok(await cli(["approve", id]), "berth approve");
    assert.equal((await current("production", "web")).digest, stagingWeb.digest);
  });
});
