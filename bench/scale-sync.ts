/**
 * A very large blueprint against the daemon (issue 15, deliverable 5): `berth server` as users
 * run it (compiled dist/, lite mode; memory engine, router off — this measures the control
 * plane), a sync of N services (default 5,000), and while it is recorded, released and applied:
 * `/healthz` and `/v1/status` latency sampled every 50 ms (p50/p95/p99/max), the sync request's
 * own latency, the time until the environment is live, and the daemon's RSS (idle before, peak,
 * and 30 s after it settled). Ratios: p99 against the 100 ms goal, RSS after against before.
 *
 * Usage: node bench/scale-sync.ts [services] [settleTimeoutSeconds]   (run scripts/build.sh first)
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { daemonCredentials } from "./daemon.ts";

const services = Number(process.argv[2] ?? 5000);
const settleTimeoutMs = Number(process.argv[3] ?? 1800) * 1000;
const MAIN = new URL("../dist/cli/main.js", import.meta.url).pathname;

const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

const dir = mkdtempSync(join(tmpdir(), "berth-scale-"));
chmodSync(dir, 0o711);
const creds = join(dir, "daemon.json");
// Diagnostics: BENCH_CPU_PROF=<dir> profiles the daemon; BENCH_HEAP=<dir> writes a heap snapshot after it settled.
const prof = [
  ...(process.env.BENCH_CPU_PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.BENCH_CPU_PROF] : []),
  ...(process.env.BENCH_HEAP ? ["--heapsnapshot-signal=SIGUSR2", "--diagnostic-dir", process.env.BENCH_HEAP] : []),
];
const child = spawn(process.execPath, [...prof, "--max-semi-space-size=1", "--lite-mode", MAIN, "server", "--data-dir", join(dir, "data"), "--listen", "127.0.0.1:0", "--engine", "memory", "--credentials-file", creds], {
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, BERTH_RESYNC_INTERVAL_MS: "30000", BERTH_ROUTER: "off", BERTH_MAX_SERVICES_PER_PROJECT: String(Math.max(services, 5000)) },
});
try {
  const c = await daemonCredentials(creds);
  const headers = { authorization: `Bearer ${c.token}` };
  const timed = async (path: string): Promise<number> => {
    const t0 = performance.now();
    const res = await fetch(`${c!.url}${path}`, { headers, signal: AbortSignal.timeout(120_000) });
    await res.arrayBuffer();
    return performance.now() - t0;
  };
  await sleep(2000);
  const idleBefore = rssMb(child.pid!);

  const src = join(dir, "app");
  mkdirSync(src);
  writeFileSync(join(src, "worker.js"), "");
  const body = Array.from({ length: services }, (_, i) => `  svc-${i}:\n    type: worker\n    start: node worker.js\n    health: { grace: 100ms }\n    env: { INDEX: "${i}" }\n`).join("");
  const blueprint = `version: 1\nproject: big\nservices:\n${body}`;

  // Samplers run for the whole processing window.
  const health: number[] = [];
  const status: number[] = [];
  let peak = idleBefore;
  let running = true;
  const sampler = (path: string, into: number[]) =>
    (async () => {
      while (running) {
        into.push(await timed(path).catch(() => 120_000));
        await sleep(50);
      }
    })();
  const samplers = [sampler("/healthz", health), sampler("/v1/status", status)];
  const rssWatch = (async () => {
    while (running) {
      peak = Math.max(peak, rssMb(child.pid!));
      await sleep(200);
    }
  })();

  // The default project quota (issue 17: 50 instances) is an owner's to raise; the ceiling on
  // services is raised through BERTH_MAX_SERVICES_PER_PROJECT above.
  const policy = await fetch(`${c.url}/v1/projects/big/policy`, {
    method: "PUT",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify({ instances: services, memoryBytes: 2 ** 50 }),
  });
  if (policy.status !== 200) throw new Error(`policy: ${policy.status} ${await policy.text()}`);

  const t0 = performance.now();
  const res = await fetch(`${c.url}/v1/sync`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify({ environment: "production", blueprint, sourceDir: src }),
  });
  const syncMs = performance.now() - t0;
  const answer = await res.text();
  if (res.status !== 202) throw new Error(`sync: ${res.status} ${answer.slice(0, 300)}`);
  let liveMs = Number.NaN;
  while (performance.now() - t0 < settleTimeoutMs) {
    // Liveness from the overview (what `berth status` reads), not from the full listing of
    // 5,000 services: polling that twice a second was itself the largest stall measured.
    const overview = (await (await fetch(`${c.url}/v1/status`, { headers })).json()) as { environments: { project: string; status: string; generation: number; reconciledGeneration: number }[] };
    const env = overview.environments.find((e) => e.project === "big");
    if (env && env.status === "live" && env.reconciledGeneration === env.generation) {
      liveMs = performance.now() - t0;
      break;
    }
    await sleep(500);
  }
  running = false;
  await Promise.all([...samplers, rssWatch]);
  // The full listing, once: every service with its instances (`GET .../environments/:e`).
  const fullMs = await timed("/v1/projects/big/environments/production");
  await sleep(30_000);
  const after = rssMb(child.pid!);
  // V8's memory reducer and the allocator give pages back over minutes, not seconds.
  await sleep(90_000);
  const later = rssMb(child.pid!);
  if (process.env.BENCH_HEAP) {
    child.kill("SIGUSR2");
    await sleep(20_000);
  }

  const row = (name: string, xs: number[]) =>
    `| ${name} | ${xs.length} | ${pct(xs, 50).toFixed(1)} | ${pct(xs, 95).toFixed(1)} | ${pct(xs, 99).toFixed(1)} | ${Math.max(...xs).toFixed(1)} | ${(pct(xs, 99) / 100).toFixed(2)}x |`;
  console.log(`${services} services (memory engine, router off), sync answered in ${syncMs.toFixed(0)} ms, live after ${(liveMs / 1000).toFixed(1)} s`);
  console.log("| endpoint during processing | samples | p50 ms | p95 ms | p99 ms | max ms | p99 vs 100 ms goal |\n|---|---|---|---|---|---|---|");
  console.log(row("/healthz", health));
  console.log(row("/v1/status", status));
  console.log(`the full environment listing (${services} services with their instances), once after live: ${fullMs.toFixed(0)} ms`);
  console.log(`RSS: idle before ${idleBefore.toFixed(1)} MB, peak ${peak.toFixed(1)} MB, 30 s after live ${after.toFixed(1)} MB, 2 min after ${later.toFixed(1)} MB (${(later / idleBefore).toFixed(2)}x idle; goal < 100 MB)`);
} finally {
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  rmSync(dir, { recursive: true, force: true });
}
