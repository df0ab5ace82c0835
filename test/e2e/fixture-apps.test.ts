/**
 * Issue 14 acceptance: the apps people push (test/fixtures/apps/) run on Berth unchanged. Each
 * render.yaml is imported as `berth import` does, synced into one daemon (local engine, sandboxed
 * when root, real HAProxy router), built from an empty cache (no Node, yarn, pnpm, npm cache or
 * installs yet), and answered through the router. The apps report the runtime that serves them,
 * so the test sees that the running service uses the Node / virtualenv its build used.
 *
 * No package index for Python (as on a machine with only Debian's packages): pip runs with
 * PIP_NO_INDEX and without the host's pip config, so the Python apps build from what Debian ships.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { importFile } from "../../src/blueprint/importers/index.ts";
import { httpHealthGate } from "../../src/deploy/health-gate.ts";
import { LocalEngine } from "../../src/engine/local/local-engine.ts";
import { startTestDaemon, type TestDaemon, tempDir } from "../helpers/daemon.ts";

const FIXTURES = fileURLToPath(new URL("../fixtures/apps/", import.meta.url));
const APPS = ["express-node20", "nvmrc-22", "flask-pip", "fastapi-pyproject", "vite-yarn1", "vite-pnpm", "next-npm"] as const;
type App = (typeof APPS)[number];

// Before the daemon reads its environment: builds get the host's PIP_* settings.
process.env.PIP_NO_INDEX = "1";
process.env.PIP_CONFIG_FILE = "/dev/null";
delete process.env.PIP_FIND_LINKS;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

type Status = { status: string; detail: string | null; services: { name: string; urls: string[] }[] };

describe("issue 14 fixture apps: imported, built from an empty cache, served through the router", () => {
  let t: TestDaemon;
  let port: number;
  const statuses = new Map<App, Status>();
  const buildLog: string[] = [];
  let elapsedMs = 0;

  const viaRouter = async (app: App, path: string) => {
    const url = statuses.get(app)?.services[0]?.urls[0];
    assert.ok(url, `${app} has a URL: ${JSON.stringify(statuses.get(app))}`);
    const res = await request(`http://127.0.0.1:${port}${path}`, { headers: { host: new URL(url).host } });
    return { status: res.statusCode, body: await res.body.text() };
  };

  before(async () => {
    port = await freePort();
    const stateDir = tempDir();
    t = await startTestDaemon({
      engine: ({ bus, openEnv }) => new LocalEngine({ stateDir, events: bus, openEnv }),
      health: httpHealthGate,
      routerHttpPort: port,
    });
    t.daemon.bus.subscribe((e) => {
      const line = (e.data as { line?: string }).line;
      if (e.type === "deploy:build:log" && (line?.startsWith("runtime:") || line?.startsWith("warning:"))) buildLog.push(`${e.scope.project}: ${line}`);
    });
    const started = Date.now();
    for (const app of APPS) {
      const dir = join(tempDir(), app);
      cpSync(join(FIXTURES, app), dir, { recursive: true });
      const imported = await importFile(join(dir, "render.yaml"), { project: app });
      assert.ok(imported.validation.ok, `${app}: ${imported.yaml}\n${JSON.stringify(imported.validation)}`);
      const r = await t.request("POST", "/v1/sync", { environment: "production", blueprint: imported.yaml, file: "berth.yaml", sourceDir: dir });
      assert.equal(r.status, 202, JSON.stringify(r.json));
    }
    await t.daemon.reconciler.whenIdle();
    elapsedMs = Date.now() - started;
    for (const app of APPS) {
      const s = (await t.request("GET", `/v1/projects/${app}/environments/production`)).json as Status;
      statuses.set(app, s);
      if (s.status !== "live") console.log(app, JSON.stringify((await t.request("GET", `/v1/projects/${app}/environments/production/deploys`)).json, null, 1).slice(0, 4000));
    }
    console.log(`7 fixture apps built and live in ${(elapsedMs / 1000).toFixed(1)} s\n${buildLog.join("\n")}`);
  });
  after(() => t?.close());

  test("every app is live; the preDeploy commands that check the runtime succeeded", () => {
    for (const app of APPS) assert.equal(statuses.get(app)?.status, "live", `${app}: ${JSON.stringify(statuses.get(app))}`);
    // express-node20's preDeploy exits 1 unless it runs on Node 20; flask-pip's unless in the virtualenv.
    for (const app of ["express-node20", "flask-pip"]) {
      const env = t.daemon.store.environments.list().find((e) => e.project === app)!;
      const svc = t.daemon.store.services.list(env.id)[0]!;
      assert.ok(t.daemon.store.runs.hasSucceeded(svc.id, "preDeploy"), `${app}: preDeploy ran on the build's runtime`);
    }
  });

  test("the builds started from an empty tool cache and installed each pinned tool once", () => {
    const tools = readdirSync(join(t.dataDir, "cache", "toolchains")).sort();
    assert.ok(tools.some((d) => /^node-20\.\d+\.\d+$/.test(d)), tools.join(", "));
    assert.ok(tools.some((d) => /^node-22\.\d+\.\d+$/.test(d)), tools.join(", "));
    assert.ok(tools.includes("yarn-1.22.22"), tools.join(", "));
    assert.ok(tools.some((d) => /^pnpm-10\.\d+\.\d+$/.test(d)), tools.join(", "));
    assert.equal(tools.filter((d) => d.startsWith(".tmp-")).length, 0, "no half-installed tool");
  });

  test("Express with engines.node 20.x builds and serves on Node 20", async () => {
    const r = await viaRouter("express-node20", "/");
    assert.equal(r.status, 200, r.body);
    const body = JSON.parse(r.body) as { node: string };
    assert.match(body.node, /^v20\./);
    const svc = t.daemon.store.services.list(t.daemon.store.environments.list().find((e) => e.project === "express-node20")!.id)[0]!;
    const release = t.daemon.store.releases.byId(svc.desiredReleaseId!)!;
    assert.ok(release.artifact.kind === "dir" && release.artifact.runtime, "the release records its runtime");
    assert.equal(release.artifact.runtime.resolved.node, body.node.slice(1), "the recorded runtime is the one serving");
  });

  test(".nvmrc 22 builds and serves on Node 22", async () => {
    const r = await viaRouter("nvmrc-22", "/");
    assert.equal(r.status, 200, r.body);
    assert.match((JSON.parse(r.body) as { node: string }).node, /^v22\./);
  });

  test("Next.js + npm: next build, next start, rendered per request on the default Node (24 LTS)", async () => {
    const r = await viaRouter("next-npm", "/");
    assert.equal(r.status, 200, r.body.slice(0, 500));
    assert.match(r.body, /fixture next-npm on node <!-- -->v24\.|fixture next-npm on node v24\./);
  });

  test("Vite + yarn 1 (a build command calling yarn) and Vite + pnpm (detected) serve their built sites", async () => {
    for (const app of ["vite-yarn1", "vite-pnpm"] as const) {
      const index = await viaRouter(app, "/");
      assert.equal(index.status, 200);
      const script = /src="(\/assets\/[^"]+\.js)"/.exec(index.body)?.[1];
      assert.ok(script, `${app}: a built index.html referencing a bundle: ${index.body}`);
      const js = await viaRouter(app, script);
      assert.match(js.body, new RegExp(`fixture ${app} built`));
      const deep = await viaRouter(app, "/some/client/route");
      assert.equal(deep.body, index.body, "SPA fallback");
    }
  });

  test("Flask: `pip install -r requirements.txt` as the build command and gunicorn as the start command run inside the virtualenv", async () => {
    const r = await viaRouter("flask-pip", "/");
    assert.equal(r.status, 200, r.body);
    const body = JSON.parse(r.body) as { python: string; virtualenv: string; python_on_path: string };
    assert.match(body.python, /^3\./);
    assert.match(body.virtualenv, /\/\.venv$/);
    assert.equal(body.python_on_path, `${body.virtualenv}/bin/python`);
  });

  test("FastAPI with pyproject.toml: installed from Debian's packages, served from the virtualenv", async () => {
    const r = await viaRouter("fastapi-pyproject", "/");
    assert.equal(r.status, 200, r.body);
    const body = JSON.parse(r.body) as { virtualenv: string; prefix: string };
    assert.match(body.virtualenv, /\/\.venv$/);
    assert.equal(body.prefix, body.virtualenv, "python -m uvicorn is the virtualenv's python");
    assert.ok(existsSync(join(body.virtualenv, "lib")), "the virtualenv is in the release directory");
  });
});
