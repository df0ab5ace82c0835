/**
 * The daemon's memory with metrics for 20 services over a real hour (issue 18): `berth server`
 * as users run it (compiled dist/, bin/berth's flags), the local engine with the router on,
 * 20 web services x 2 instances, and a paced load through HAProxy with a known mix (200 OK,
 * 500 errors, slow 200s) for the whole window, so every request is parsed from HAProxy's log and
 * recorded by the metrics collector, flushed to SQLite every 10 s, rolled up by maintenance.
 * RSS is sampled every 30 s; the baseline in the same run is the daemon's own RSS once the
 * services are live and before any load. Goal: <= 100 MB throughout.
 *
 * Usage: node bench/observe-hour.ts [seconds=3600] [requestsPerSecond=100]   (run scripts/build.sh first)
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { daemonCredentials } from "./daemon.ts";

const seconds = Number(process.argv[2] ?? 3600);
const rate = Number(process.argv[3] ?? 100);
const SERVICES = 20;
const MAIN = new URL("../dist/cli/main.js", import.meta.url).pathname;

const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
const freePort = (): Promise<number> =>
  new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });

const dir = mkdtempSync(join(tmpdir(), "berth-hour-"));
chmodSync(dir, 0o711);
const creds = join(dir, "daemon.json");
const httpPort = await freePort();
const child = spawn(process.execPath, ["--max-semi-space-size=1", "--lite-mode", MAIN, "server", "--data-dir", join(dir, "data"), "--listen", "127.0.0.1:0", "--engine", "local", "--credentials-file", creds], {
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, BERTH_HTTP_PORT: String(httpPort), BERTH_HTTPS_PORT: "0", BERTH_ACME_DIRECTORY: "off", BERTH_STOP_INSTANCES: "1" },
});
let sent = 0;
let failed = 0;
const statuses = new Map<number, number>();
try {
  const c = await daemonCredentials(creds);
  const headers = { authorization: `Bearer ${c.token}` };

  // One tiny app: /err answers 500, /slow answers 200 after 150 ms, anything else 200.
  const src = join(dir, "app");
  mkdirSync(src);
  chmodSync(src, 0o755);
  writeFileSync(
    join(src, "server.js"),
    `require("node:http").createServer((q, r) => { if (q.url === "/err") { r.statusCode = 500; r.end("no"); } else if (q.url === "/slow") setTimeout(() => r.end("ok"), 150); else r.end("ok"); }).listen(process.env.PORT);\n`,
  );
  const body = Array.from({ length: SERVICES }, (_, i) => `  s${i}:\n    type: web\n    start: node server.js\n    replicas: 2\n`).join("");
  // 40 instances at the default 1 GiB limit are over the default project quota: an owner raises it.
  const policy = await fetch(`${c.url}/v1/projects/hour/policy`, { method: "PUT", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify({ instances: 2 * SERVICES, memoryBytes: 2 ** 40 }) });
  if (policy.status !== 200) throw new Error(`policy: ${policy.status} ${await policy.text()}`);
  const res = await fetch(`${c.url}/v1/sync`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify({ environment: "production", blueprint: `version: 1\nproject: hour\nservices:\n${body}`, sourceDir: src }),
  });
  if (res.status !== 202) throw new Error(`sync: ${res.status} ${await res.text()}`);
  for (let i = 0; ; i++) {
    const env = (await (await fetch(`${c.url}/v1/projects/hour/environments/production`, { headers })).json()) as { status: string; generation: number; reconciledGeneration: number };
    if (env.status === "live" && env.reconciledGeneration === env.generation) break;
    if (i > 600) throw new Error(`not live after 5 minutes: ${env.status}`);
    await sleep(500);
  }
  await sleep(15_000);
  const baseline = rssMb(child.pid!);
  console.log(`20 services x 2 instances live; daemon RSS before load ${baseline.toFixed(1)} MB`);

  // The load: `rate` requests a second spread over the services, 80 % /, 10 % /err, 10 % /slow.
  const get = (svc: number, path: string) =>
    new Promise<void>((resolve) => {
      sent++;
      const req = request({ host: "127.0.0.1", port: httpPort, path, headers: { host: `s${svc}-production-hour.localhost` }, timeout: 10_000, agent: false }, (r) => {
        statuses.set(r.statusCode ?? 0, (statuses.get(r.statusCode ?? 0) ?? 0) + 1);
        r.resume();
        r.on("end", resolve);
      });
      req.on("error", () => {
        failed++;
        resolve();
      });
      req.on("timeout", () => req.destroy());
      req.end();
    });
  const t0 = Date.now();
  const samples: { min: number; rss: number }[] = [];
  let peak = baseline;
  let running = true;
  const load = (async () => {
    let i = 0;
    while (running) {
      const k = i++;
      // Every service gets the same mix: the path changes once per round over the services.
      const round = Math.floor(k / SERVICES) % 10;
      const path = round === 0 ? "/err" : round === 5 ? "/slow" : "/";
      void get(k % SERVICES, path);
      await sleep(1000 / rate);
    }
  })();
  while (Date.now() - t0 < seconds * 1000) {
    await sleep(30_000);
    const r = rssMb(child.pid!);
    peak = Math.max(peak, r);
    samples.push({ min: (Date.now() - t0) / 60_000, rss: r });
  }
  running = false;
  await load;
  await sleep(11_000);
  const recorded = (await (await fetch(`${c.url}/v1/projects/hour/environments/production/services/s0/metrics?since=2h`, { headers })).json()) as { summary?: { requests?: number } };
  const every = Math.max(1, Math.floor(samples.length / 12));
  console.log(`| minute | daemon RSS MB |\n|---|---|\n${samples.filter((_, i) => i % every === every - 1 || i === samples.length - 1).map((s) => `| ${s.min.toFixed(0)} | ${s.rss.toFixed(1)} |`).join("\n")}`);
  console.log(
    `${seconds} s at ${rate} req/s: ${sent} requests, ${failed} failed at the client, statuses ${JSON.stringify(Object.fromEntries(statuses))}; s0 recorded ${recorded.summary?.requests ?? "?"} requests (sent ${Math.round(sent / SERVICES)})`,
  );
  console.log(`RSS: before load ${baseline.toFixed(1)} MB, peak ${peak.toFixed(1)} MB, end ${samples.at(-1)?.rss.toFixed(1)} MB (${(peak / 100).toFixed(2)}x the 100 MB goal)`);
} finally {
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  rmSync(dir, { recursive: true, force: true });
}
