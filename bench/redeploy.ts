/**
 * Issue 5 acceptance, the full version of test/deploy/zero-downtime.test.ts: a Node web app on
 * the local engine behind the real router (HAProxy), its code changed and redeployed N times in
 * a row (default 20) under a paced load (default 200 req/s, keep-alive), counting failed
 * requests. The load is bounded in rate, in time (it stops when the redeploys end, or at
 * `--max-seconds`) and in concurrency (at most `--max-in-flight` outstanding requests).
 *
 *   node bench/redeploy.ts [--rounds 20] [--rate 200] [--max-seconds 300] [--max-in-flight 100]
 */
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Agent, request } from "undici";
import { httpHealthGate } from "../src/deploy/health-gate.ts";
import { LocalEngine } from "../src/engine/local/local-engine.ts";
import { startTestDaemon, tempDir, writeProject } from "../test/helpers/daemon.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "20" },
    rate: { type: "string", default: "200" },
    "max-seconds": { type: "string", default: "300" },
    "max-in-flight": { type: "string", default: "100" },
  },
});
const rounds = Number(values.rounds);
const rate = Number(values.rate);
const maxSeconds = Number(values["max-seconds"]);
const maxInFlight = Number(values["max-in-flight"]);

const SERVER = `
const http = require("node:http");
const version = require("node:fs").readFileSync(__dirname + "/VERSION", "utf8").trim();
const server = http.createServer((req, res) => res.end(version));
server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`;
const BLUEPRINT = `version: 1
project: bench
services:
  web:
    type: web
    start: node server.js
    replicas: 2
    health: { path: /, interval: 200ms }
    shutdownDelay: 5s
`;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const port = await freePort();
const stateDir = tempDir("berth-bench-");
const t = await startTestDaemon({
  engine: ({ bus, openEnv }) => new LocalEngine({ stateDir, events: bus, openEnv, sandbox: false }),
  health: httpHealthGate,
  routerHttpPort: port,
});
const dir = writeProject(join(tempDir("berth-bench-"), "bench"), BLUEPRINT, { "server.js": SERVER, VERSION: "v0" });
const sync = async () => {
  const r = await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir });
  if (r.status !== 202) throw new Error(`sync: ${r.status} ${JSON.stringify(r.json)}`);
  await t.daemon.reconciler.whenIdle();
};

let sent = 0;
let ok = 0;
let inFlight = 0;
let skipped = 0;
const failures = new Map<string, number>();
const seen = new Set<string>();
try {
  await sync();
  const status = await t.request("GET", "/v1/projects/bench/environments/production");
  const host = new URL(status.json.services[0].urls[0]).host;
  const agent = new Agent({ connections: 32, pipelining: 1, keepAliveTimeout: 10_000 });
  const fail = (why: string) => failures.set(why, (failures.get(why) ?? 0) + 1);
  const one = async () => {
    inFlight++;
    try {
      const res = await request(`http://127.0.0.1:${port}/`, { dispatcher: agent, headers: { host }, headersTimeout: 10_000, bodyTimeout: 10_000 });
      const body = await res.body.text();
      if (res.statusCode === 200) {
        ok++;
        seen.add(body);
      } else fail(`HTTP ${res.statusCode}`);
    } catch (e) {
      fail((e as Error).message);
    } finally {
      inFlight--;
    }
  };
  // A paced load: every 5 ms, send what the rate owes since the start (no bursts past the cap).
  const started = performance.now();
  const pending = new Set<Promise<void>>();
  const pacer = setInterval(() => {
    const elapsedS = (performance.now() - started) / 1000;
    if (elapsedS > maxSeconds) return;
    const owed = Math.floor(elapsedS * rate) - sent - skipped;
    for (let i = 0; i < owed; i++) {
      if (inFlight >= maxInFlight) {
        skipped++;
        continue;
      }
      sent++;
      const p = one();
      pending.add(p);
      void p.finally(() => pending.delete(p));
    }
  }, 5);

  const deployMs: number[] = [];
  await new Promise((r) => setTimeout(r, 1000)); // load before the first redeploy
  for (let v = 1; v <= rounds; v++) {
    writeFileSync(join(dir, "VERSION"), `v${v}`);
    const t0 = performance.now();
    await sync();
    deployMs.push(performance.now() - t0);
    process.stderr.write(`redeploy ${v}/${rounds}: ${Math.round(deployMs.at(-1)!)} ms, ${sent} sent, ${[...failures.values()].reduce((a, b) => a + b, 0)} failed\n`);
  }
  await new Promise((r) => setTimeout(r, 1000)); // load after the last one
  clearInterval(pacer);
  await Promise.all(pending);
  await agent.close();
  const seconds = (performance.now() - started) / 1000;
  const deploys = (await t.request("GET", "/v1/projects/bench/environments/production/deploys?limit=100")).json as { status: string }[];
  const failed = [...failures.values()].reduce((a, b) => a + b, 0);
  const sorted = [...deployMs].sort((a, b) => a - b);
  const result = {
    rounds,
    targetRate: rate,
    seconds: Number(seconds.toFixed(1)),
    sent,
    ok,
    failed,
    skippedAtCap: skipped,
    achievedRate: Number((sent / seconds).toFixed(1)),
    failures: Object.fromEntries(failures),
    versionsSeen: seen.size,
    lastVersionServed: seen.has(`v${rounds}`),
    deploysLive: deploys.filter((d) => d.status === "live").length,
    deploysTotal: deploys.length,
    redeployMsP50: Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0),
    redeployMsMax: Math.round(sorted.at(-1) ?? 0),
  };
  console.log(JSON.stringify(result, null, 2));
  if (failed > 0) process.exitCode = 1;
} finally {
  await t.close();
}
