/**
 * Router benchmark: the same Node backend measured directly, through Berth's router (its
 * rendered HAProxy configuration: map routing, health checks, request logs), through a
 * hand-tuned minimal HAProxy configuration, and through nginx. wrk, keep-alive, a few seconds
 * per variant in interleaved rounds; prints median ratios to direct and to the hand-tuned
 * HAProxy, and the p50 added at one connection.
 *
 *   node bench/router.ts [--seconds 3] [--connections 50] [--rounds 3]
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { Router } from "../src/router/router.ts";
import { buildRouteTable } from "../src/router/routes.ts";
import { eventually, freePort, get } from "../src/router/test-helpers.ts";

const run = promisify(execFile);
const { values } = parseArgs({
  options: { seconds: { type: "string", default: "3" }, connections: { type: "string", default: "50" }, rounds: { type: "string", default: "3" } },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const rounds = Number(values.rounds);

/** A plain Node backend in its own process, so the benchmark's own event loop does not compete. */
const BACKEND = `
const http = require("node:http");
const body = "hello from the backend\\n";
http.createServer((req, res) => { res.writeHead(200, { "content-type": "text/plain", "content-length": body.length }); res.end(body); })
  .listen(Number(process.env.PORT), "127.0.0.1");
`;

interface WrkResult {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

function toMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
}

async function wrk(port: number, host: string, conns: number, secs: number): Promise<WrkResult> {
  const { stdout } = await run("wrk", [`-t${Math.min(2, conns)}`, `-c${conns}`, `-d${secs}s`, "--latency", "-H", `Host: ${host}`, `http://127.0.0.1:${port}/`], { timeout: (secs + 30) * 1000 });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? Number.NaN);
  const p50Ms = toMs(/\s50%\s+(\S+)/.exec(stdout)?.[1] ?? "");
  const p99Ms = toMs(/\s99%\s+(\S+)/.exec(stdout)?.[1] ?? "");
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0) + Number(/Socket errors:.*?(\d+)/.exec(stdout)?.[1] ?? 0);
  return { rps, p50Ms, p99Ms, errors };
}

async function waitHttp(port: number, host = "x"): Promise<void> {
  await eventually(async () => (await get(port, host, "/").catch(() => undefined))?.status === 200, 10_000);
}

async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  c.kill("SIGTERM");
  await once(c, "exit");
}

const handTunedHaproxy = (port: number, backend: number): string => `global
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
  http-reuse always
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  server s1 127.0.0.1:${backend}
`;

const nginxConf = (dir: string, port: number, backend: number): string => `worker_processes auto;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/nginx-body;
  proxy_temp_path ${dir}/nginx-proxy;
  fastcgi_temp_path ${dir}/nginx-fastcgi;
  uwsgi_temp_path ${dir}/nginx-uwsgi;
  scgi_temp_path ${dir}/nginx-scgi;
  upstream be { server 127.0.0.1:${backend}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`;

interface Variant {
  readonly name: string;
  readonly port: number;
  readonly host: string;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "berth-bench-router-"));
  const children: ChildProcess[] = [];
  const routers: Router[] = [];
  try {
    const backendPort = await freePort();
    children.push(spawn(process.execPath, ["-e", BACKEND], { env: { ...process.env, PORT: String(backendPort) }, stdio: "ignore" }));
    await waitHttp(backendPort);
    const variants: Variant[] = [{ name: "direct", port: backendPort, host: "x" }];

    const ref = { project: "bench", environment: "prod", service: "web" };
    for (const [name, sample] of [["berth", 1], ["berth (logs 1:10)", 10]] as const) {
      const port = await freePort();
      const router = new Router({ stateDir: join(dir, `router-${sample}`), bindHost: "127.0.0.1", httpPort: port, requestLogSampleEvery: sample });
      routers.push(router);
      await router.start();
      await router.setRoutes(buildRouteTable([{ ref, kind: "web", domains: ["bench.example.com"], pathPrefixes: [], health: { path: "/", intervalMs: 2_000 } }]));
      await router.trafficPort.add(ref, "i1", { host: "127.0.0.1", port: backendPort });
      variants.push({ name, port, host: "bench.example.com" });
    }

    const hpPort = await freePort();
    await writeFile(join(dir, "hand.cfg"), handTunedHaproxy(hpPort, backendPort));
    children.push(spawn("haproxy", ["-db", "-f", join(dir, "hand.cfg")], { stdio: "ignore" }));
    await waitHttp(hpPort);
    variants.push({ name: "haproxy hand-tuned", port: hpPort, host: "x" });

    const ngPort = await freePort();
    await writeFile(join(dir, "nginx.conf"), nginxConf(dir, ngPort, backendPort));
    children.push(spawn("nginx", ["-c", join(dir, "nginx.conf"), "-p", dir], { stdio: "ignore" }));
    await waitHttp(ngPort);
    variants.push({ name: "nginx", port: ngPort, host: "x" });

    // Interleaved rounds: the box is shared, so a neighbour's burst hits every variant alike.
    const load = new Map<string, WrkResult[]>();
    const idle = new Map<string, WrkResult[]>();
    for (let round = 0; round < rounds; round++) {
      for (const v of variants) {
        load.set(v.name, [...(load.get(v.name) ?? []), await wrk(v.port, v.host, connections, seconds)]);
        idle.set(v.name, [...(idle.get(v.name) ?? []), await wrk(v.port, v.host, 1, Math.max(1, Math.floor(seconds / 2)))]);
      }
    }
    const rps = (n: string): number => median((load.get(n) ?? []).map((r) => r.rps));
    const p50 = (n: string): number => median((idle.get(n) ?? []).map((r) => r.p50Ms));
    const lines = [
      `Router benchmark, ${new Date().toISOString()}: one Node backend; throughput wrk -t2 -c${connections} -d${seconds}s, keep-alive;`,
      `latency wrk -t1 -c1 (one connection, no queueing); medians of ${rounds} interleaved rounds.`,
      "",
      "| variant | req/s | vs direct | vs hand-tuned HAProxy | p50 ms (1 conn) | added p50 ms | p99 ms (loaded) | errors |",
      "|---|---|---|---|---|---|---|---|",
    ];
    for (const v of variants) {
      const errors = [...(load.get(v.name) ?? []), ...(idle.get(v.name) ?? [])].reduce((n, r) => n + r.errors, 0);
      lines.push(
        `| ${v.name} | ${rps(v.name).toFixed(0)} | ${(rps(v.name) / rps("direct")).toFixed(2)}x | ${(rps(v.name) / rps("haproxy hand-tuned")).toFixed(2)}x | ${p50(v.name).toFixed(3)} | ${(p50(v.name) - p50("direct")).toFixed(3)} | ${median((load.get(v.name) ?? []).map((r) => r.p99Ms)).toFixed(2)} | ${errors} |`,
      );
    }
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    for (const r of routers) await r.stop();
    for (const c of children) await stopChild(c);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
