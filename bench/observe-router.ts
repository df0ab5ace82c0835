/**
 * Router throughput with metrics on vs off (issue 18), in the same process, interleaved rounds.
 * "off": a Router reading HAProxy's request log into its in-memory counters only (what Berth did
 * before issue 18). "on": the same plus every request recorded into the metrics collector (per
 * service and per instance, status classes, latency histogram) and flushed to a SQLite file every
 * 10 s, as the daemon runs it. One Node backend in its own process; wrk, keep-alive.
 *
 *   node bench/observe-router.ts [--seconds 3] [--connections 50] [--rounds 5]
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { systemClock } from "../src/core/clock.ts";
import { MetricsCollector } from "../src/observe/metrics/collector.ts";
import { requestRecorder } from "../src/observe/metrics/requests.ts";
import { Router } from "../src/router/router.ts";
import { buildRouteTable } from "../src/router/routes.ts";
import { eventually, freePort, get } from "../src/router/test-helpers.ts";
import { openDb } from "../src/store/db.ts";
import { MetricsRepository } from "../src/store/repositories/metrics.ts";

const run = promisify(execFile);
const { values } = parseArgs({ options: { seconds: { type: "string", default: "3" }, connections: { type: "string", default: "50" }, rounds: { type: "string", default: "5" } } });
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const rounds = Number(values.rounds);

const BACKEND = `
const http = require("node:http");
const body = "hello from the backend\\n";
http.createServer((req, res) => { res.writeHead(200, { "content-type": "text/plain", "content-length": body.length }); res.end(body); })
  .listen(Number(process.env.PORT), "127.0.0.1");
`;

async function wrk(port: number, host: string): Promise<{ rps: number; p50: string; errors: number }> {
  const { stdout } = await run("wrk", ["-t2", `-c${connections}`, `-d${seconds}s`, "--latency", "-H", `Host: ${host}`, `http://127.0.0.1:${port}/`], { timeout: (seconds + 30) * 1000 });
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? Number.NaN),
    p50: /\s50%\s+(\S+)/.exec(stdout)?.[1] ?? "?",
    errors: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0),
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const dir = await mkdtemp(join(tmpdir(), "berth-bench-observe-"));
const children: ChildProcess[] = [];
const routers: Router[] = [];
try {
  const backendPort = await freePort();
  children.push(spawn(process.execPath, ["-e", BACKEND], { env: { ...process.env, PORT: String(backendPort) }, stdio: "ignore" }));
  const repo = new MetricsRepository(openDb(join(dir, "metrics.db")));
  const collector = new MetricsCollector({ repo, clock: systemClock });
  collector.start();
  let recorded = 0;
  const record = requestRecorder(collector);
  const variants: { name: string; port: number }[] = [];
  for (const name of ["metrics off", "metrics on"]) {
    const port = await freePort();
    const ref = { project: "bench", environment: "prod", service: name === "metrics on" ? "on" : "off" };
    const router = new Router({
      stateDir: join(dir, name.replace(" ", "-")),
      bindHost: "127.0.0.1",
      httpPort: port,
      ...(name === "metrics on"
        ? {
            onRequest: (s) => {
              recorded++;
              record(s);
            },
          }
        : {}),
    });
    await router.start();
    routers.push(router);
    await router.setRoutes(buildRouteTable([{ ref, kind: "web", domains: ["bench.local"], pathPrefixes: [], health: { path: "/", intervalMs: 1000 } }]));
    await router.trafficPort.add(ref, `${ref.service}-1`, { host: "127.0.0.1", port: backendPort });
    await eventually(async () => (await get(port, "bench.local", "/").catch(() => undefined))?.status === 200, 10_000);
    variants.push({ name, port });
  }
  const results = new Map<string, { rps: number; p50: string; errors: number }[]>();
  for (let r = 0; r < rounds; r++) {
    for (const v of r % 2 ? [...variants].reverse() : variants) {
      const res = await wrk(v.port, "bench.local");
      results.set(v.name, [...(results.get(v.name) ?? []), res]);
    }
  }
  collector.flush();
  const off = median(results.get("metrics off")!.map((x) => x.rps));
  const on = median(results.get("metrics on")!.map((x) => x.rps));
  console.log(`wrk -t2 -c${connections} -d${seconds}s, ${rounds} interleaved rounds, medians`);
  console.log("| variant | req/s | p50 (median round) | non-2xx |");
  console.log("|---|---|---|---|");
  for (const v of variants) {
    const rs = results.get(v.name)!;
    console.log(`| ${v.name} | ${median(rs.map((x) => x.rps)).toFixed(0)} | ${rs[Math.floor(rs.length / 2)]!.p50} | ${rs.reduce((n, x) => n + x.errors, 0)} |`);
  }
  console.log(`on/off ratio: ${(on / off).toFixed(3)}x (per round: ${results.get("metrics on")!.map((x, i) => (x.rps / results.get("metrics off")![i]!.rps).toFixed(3)).join(", ")})`);
  console.log(`requests recorded into the metrics store: ${recorded}`);
  collector.stop();
} finally {
  for (const r of routers) await r.stop().catch(() => {});
  for (const c of children) {
    c.kill("SIGTERM");
    await once(c, "exit").catch(() => {});
  }
  await rm(dir, { recursive: true, force: true });
}
