/**
 * Issue 5 benchmark: warm redeploy of a small Node web app (a code change only; the app, its
 * runtime and its build settings unchanged), from the sync request to the new version served
 * through the router, N rounds (default 10). Prints p50/p95 of the total and of each deploy
 * step the pipeline recorded (build, release, start, health, switch, drain ...).
 *
 * `--via dir` (default) syncs a directory like `berth deploy`; `--via git` pushes a commit to the
 * repository Berth serves for the project (auto-deploy), so the total includes noticing the push,
 * fetching and checking out the commit.
 *
 *   node bench/warm-redeploy.ts [--rounds 10] [--via dir|git]
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { request } from "undici";
import { httpHealthGate } from "../src/deploy/health-gate.ts";
import { LocalEngine } from "../src/engine/local/local-engine.ts";
import { startTestDaemon, tempDir, writeProject } from "../test/helpers/daemon.ts";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "10" }, via: { type: "string", default: "dir" } } });
const rounds = Number(values.rounds);
const via = values.via === "git" ? "git" : "dir";

const SERVER = `
const http = require("node:http");
const version = require("node:fs").readFileSync(__dirname + "/VERSION", "utf8").trim();
const server = http.createServer((req, res) => res.end(version));
server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`;
const PACKAGE = JSON.stringify({ name: "small-app", private: true, scripts: { start: "node server.js" } });
/** The blueprint a user would write: health check on /, everything else default. */
const BLUEPRINT = `version: 1
project: warm
services:
  web:
    type: web
    start: node server.js
    health: { path: / }
`;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
const pct = (xs: readonly number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? 0;
};
const gitIn = (dir: string, args: readonly string[]) =>
  execFileSync("git", ["-c", "user.name=bench", "-c", "user.email=bench@berth.invalid", ...args], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();

const port = await freePort();
const stateDir = tempDir("berth-bench-");
const t = await startTestDaemon({
  engine: ({ bus, openEnv }) => new LocalEngine({ stateDir, events: bus, openEnv, sandbox: false }),
  health: httpHealthGate,
  routerHttpPort: port,
});
const dir = writeProject(join(tempDir("berth-bench-"), "warm"), BLUEPRINT, { "server.js": SERVER, "package.json": PACKAGE, VERSION: "v0" });
let remote = "";
if (via === "git") {
  remote = (await t.request("POST", "/v1/projects/warm/git", {})).json.url;
  mkdirSync(dir, { recursive: true });
  gitIn(dir, ["init", "--quiet", "--initial-branch=main"]);
}
/** Starts a deploy of the directory's current contents. */
const trigger = async () => {
  if (via === "dir") {
    const r = await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir });
    if (r.status !== 202) throw new Error(`sync: ${r.status} ${JSON.stringify(r.json)}`);
    return;
  }
  gitIn(dir, ["add", "--all"]);
  gitIn(dir, ["commit", "--quiet", "-m", "change"]);
  gitIn(dir, ["push", "--quiet", remote, "main"]);
};
let host = "";
const served = async (): Promise<string> => {
  try {
    // undici's request, not fetch: fetch drops a Host header.
    const res = await request(`http://127.0.0.1:${port}/`, { headers: { host } });
    return await res.body.text();
  } catch {
    return "";
  }
};
/** Polls the router until it serves `body`; returns the time it first did. */
const waitServed = async (body: string, timeoutMs = 60_000): Promise<number> => {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if ((await served()) === body) return performance.now();
    await new Promise((r) => setTimeout(r, 10));
  }
  const status = await t.request("GET", "/v1/projects/warm/environments/production");
  const deploys = await t.request("GET", "/v1/projects/warm/environments/production/deploys?limit=2");
  throw new Error(`never served ${body} (got '${await served()}'; ${JSON.stringify(status.json)} ${JSON.stringify(deploys.json)})`);
};

interface Step {
  step: string;
  ms: number;
}
try {
  // Cold deploy first (not measured): later rounds are warm.
  await trigger();
  const deadline = Date.now() + 60_000;
  while (!host) {
    await t.daemon.git.whenIdle();
    await t.daemon.reconciler.whenIdle();
    const s = await t.request("GET", "/v1/projects/warm/environments/production");
    if (s.status === 200 && s.json.services[0]?.urls[0]) host = new URL(s.json.services[0].urls[0]).host;
    else if (Date.now() > deadline) throw new Error("the first deploy never appeared");
    else await new Promise((r) => setTimeout(r, 50));
  }
  await waitServed("v0");
  const totals: number[] = [];
  const liveTotals: number[] = [];
  const steps = new Map<string, number[]>();
  for (let v = 1; v <= rounds; v++) {
    writeFileSync(join(dir, "VERSION"), `v${v}`);
    const t0 = performance.now();
    await trigger();
    const firstServed = await waitServed(`v${v}`);
    totals.push(firstServed - t0);
    await t.daemon.git.whenIdle();
    await t.daemon.reconciler.whenIdle(); // the deploy ends after the old instance drained
    const [d] = (await t.request("GET", "/v1/projects/warm/environments/production/deploys?limit=1")).json as { status: string; steps: Step[]; createdAt: string; finishedAt: string }[];
    if (d?.status !== "live") throw new Error(`round ${v}: deploy ${d?.status}`);
    // Sync -> deploy live: the deploy row's finish time against the trigger (wall clock, ms).
    liveTotals.push(Date.parse(d.finishedAt) - (Date.now() - (performance.now() - t0)));
    // Build and release happen before the rollout (the release event carries their time); the
    // rollout's step times are cumulative from its start: report each step's own share.
    const release = t.daemon.store.events.list({ types: ["deploy:release:created"], limit: 1000 }).at(-1) as { data: { ms: number } } | undefined;
    const own: [string, number][] = [["build+release", release?.data.ms ?? 0]];
    let prev = 0;
    for (const s of d.steps) {
      own.push([s.step, s.ms - prev]);
      prev = s.ms;
    }
    for (const [name, ms] of own) steps.set(name, [...(steps.get(name) ?? []), ms]);
    process.stderr.write(`round ${v}/${rounds}: served ${Math.round(firstServed - t0)} ms, live ${Math.round(liveTotals.at(-1)!)} ms (${own.map(([n, ms]) => `${n} ${ms}`).join(", ")})\n`);
  }
  const result = {
    via,
    rounds,
    /** Trigger -> the router serves the new version. */
    servedMs: { p50: Math.round(pct(totals, 50)), p95: Math.round(pct(totals, 95)), min: Math.round(Math.min(...totals)), max: Math.round(Math.max(...totals)) },
    /** Trigger -> the deploy is `live` (old instances drained). */
    liveMs: { p50: Math.round(pct(liveTotals, 50)), p95: Math.round(pct(liveTotals, 95)), min: Math.round(Math.min(...liveTotals)), max: Math.round(Math.max(...liveTotals)) },
    stepsMs: Object.fromEntries([...steps].map(([name, xs]) => [name, { p50: pct(xs, 50), p95: pct(xs, 95) }])),
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await t.close();
}
