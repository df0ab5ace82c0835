/**
 * Benchmark: how fast a killed instance is running again, and what the supervisor costs, with
 * 50 instances — Berth's local engine side by side with PM2 running the same app.
 *
 *   node bench/engine-restart.ts [--instances 50] [--kills 30] [--sandbox]
 *
 * The app tells the bench it is up with a UDP datagram {id, run}; "exit -> restarted" is the
 * time from `kill -9` of an instance to the datagram of its replacement (so both sides include
 * Node's own start-up). Each instance is killed once: Berth's first restart is immediate, later
 * ones back off (1 s, 2 s, ...), PM2 restarts at once by default. Supervisor RSS: the Berth engine
 * runs in its own process (a small JavaScript driver of the compiled engine); PM2's is its God
 * daemon.
 */
import { execFileSync, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

const APP = `
const s = require("node:dgram").createSocket("udp4");
const id = process.env.BERTH_INSTANCE_ID || process.env.BENCH_ID;
s.send(JSON.stringify({ id, pid: process.pid, run: process.pid + "-" + Math.random() }), Number(process.env.BENCH_UDP_PORT), "127.0.0.1", () => s.close());
setInterval(() => {}, 1 << 30);
`;

const { values: args } = parseArgs({
  options: {
    instances: { type: "string", default: "50" },
    kills: { type: "string", default: "30" },
    sandbox: { type: "boolean", default: false },
  },
});
const N = Number(args.instances);
const KILLS = Math.min(Number(args.kills), N);


/**
 * The Berth side's supervisor process, as plain JavaScript so that (with the compiled engine) no
 * type stripper sits in its memory. argv: ENGINE_MODULE DIR UDP_PORT INSTANCES SANDBOX(0|1).
 */
const DAEMON = `
import { join } from "node:path";
import { createInterface } from "node:readline";
const [enginePath, dir, port, instances, sandbox] = process.argv.slice(2);
const N = Number(instances);
const { LocalEngine } = await import(enginePath);
const engine = new LocalEngine({ stateDir: join(dir, "state"), events: { emit: () => {} }, openEnv: async (r) => JSON.parse(r.sealedEnv), sandbox: sandbox === "1" });
await engine.start();
const ref = { project: "bench", environment: "production", service: "app" };
const health = { intervalMs: 1000, timeoutMs: 1000, unhealthyThreshold: 3, healthyThreshold: 1, graceMs: 200, deployTimeoutMs: 60000 };
const spec = { ref, kind: "worker", replicas: N, singleton: false, start: "exec " + process.execPath + " app.cjs", listens: false, health,
  restart: { policy: "always" }, shutdownDelayMs: 5000, limits: {}, disks: [] };
const release = { id: "rel_bench", number: 1, service: ref, artifact: { kind: "dir", path: join(dir, "app"), digest: "x" }, sealedEnv: JSON.stringify({ BENCH_UDP_PORT: port }) };
// The app has no port: a gate that waits out the grace period.
const gate = { wait: async (i, h) => { await new Promise((r) => setTimeout(r, h.graceMs)); return { ok: i.alive(), detail: "" }; } };
const traffic = { add: async () => {}, remove: async () => {} };
for await (const e of engine.apply(spec, release, { policy: { kind: "start-first", maxSurge: N }, health: gate, traffic }, new AbortController().signal)) {
  if (e.step === "failed") throw new Error(e.detail);
}
process.stdout.write("ready\\n");
for await (const line of createInterface({ input: process.stdin })) {
  if (line === "stop") { await engine.stop({ stopInstances: true }); process.exit(0); }
}
`;

/**
 * The compiled engine from dist/ when it is up to date (that is what `berth server` runs: no type
 * stripper in memory), else the TypeScript sources.
 */
function engineModule(): { path: string; compiled: boolean } {
  const root = join(import.meta.dirname, "..");
  const built = join(root, "dist", ".built");
  const js = join(root, "dist", "engine", "local", "local-engine.js");
  if (existsSync(built) && existsSync(js)) {
    const stale = execFileSync("find", [join(root, "src", "engine"), "-newer", built, "-name", "*.ts", "-print", "-quit"], { encoding: "utf8" }).trim();
    if (!stale) return { path: js, compiled: true };
  }
  return { path: join(root, "src", "engine", "local", "local-engine.ts"), compiled: false };
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

/** The host pid of the app process with this id (a sandboxed app only knows its namespace pid). */
function appPid(id: string, reported: number): number {
  try {
    const env = readFileSync(`/proc/${reported}/environ`, "utf8").split("\0");
    if (env.includes(`BERTH_INSTANCE_ID=${id}`) || env.includes(`BENCH_ID=${id}`)) return reported;
  } catch {
    // not a host pid: look it up
  }
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The app itself, not a sandbox helper (bwrap) that carries the same environment.
      if (!/(^|\/)node$/.test(readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0")[0] ?? "")) continue;
      const env = readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      if (env.includes(`BERTH_INSTANCE_ID=${id}`) || env.includes(`BENCH_ID=${id}`)) return Number(entry);
    } catch {
      // gone, or not ours to read
    }
  }
  throw new Error(`no process for instance ${id}`);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Result {
  readonly name: string;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly rssMb: number;
}

/** Collects "up" datagrams and wakes waiters on each. */
class UpListener {
  readonly socket = createSocket("udp4");
  readonly latest = new Map<string, { run: string; pid: number; at: number }>();
  #waiters: (() => void)[] = [];
  async listen(): Promise<number> {
    this.socket.on("message", (msg) => {
      const { id, run, pid } = JSON.parse(String(msg)) as { id: string; run: string; pid: number };
      this.latest.set(String(id), { run, pid, at: performance.now() });
      for (const w of this.#waiters.splice(0)) w();
    });
    await new Promise<void>((r) => this.socket.bind(0, "127.0.0.1", r));
    return this.socket.address().port;
  }
  async until(pred: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!pred()) {
      if (performance.now() > deadline) throw new Error("timed out waiting for instances");
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
}

async function measureKills(up: UpListener, name: string, supervisorPid: () => number): Promise<Result> {
  await new Promise((r) => setTimeout(r, 1500)); // settle (PM2 counts restarts within min_uptime as unstable)
  const rss = rssBytes(supervisorPid());
  const ids = [...up.latest.keys()].slice(0, KILLS);
  const lat: number[] = [];
  for (const id of ids) {
    const before = up.latest.get(id)!;
    const pid = appPid(id, before.pid);
    const t0 = performance.now();
    process.kill(pid, "SIGKILL");
    await up.until(() => up.latest.get(id)!.run !== before.run, 10_000);
    lat.push(up.latest.get(id)!.at - t0);
  }
  lat.sort((a, b) => a - b);
  return { name, p50Ms: percentile(lat, 50), p95Ms: percentile(lat, 95), rssMb: rss / 1024 / 1024 };
}

async function benchBerth(dir: string, up: UpListener, port: number): Promise<Result> {
  up.latest.clear();
  const mod = engineModule();
  // The same Node flags as bin/berth gives the daemon.
  writeFileSync(join(dir, "daemon.mjs"), DAEMON);
  const child = spawn(
    process.execPath,
    ["--max-semi-space-size=1", join(dir, "daemon.mjs"), mod.path, dir, String(port), String(N), args.sandbox ? "1" : "0"],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  console.log(`berth engine: ${mod.compiled ? "compiled dist/ (as the daemon runs it)" : "TypeScript sources (dist/ is stale: run scripts/build.sh for the daemon's figure)"}`);
  try {
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    if ((await lines.next()).value !== "ready") throw new Error("berth daemon did not start");
    await up.until(() => up.latest.size >= N, 60_000);
    return await measureKills(up, args.sandbox ? "berth local (sandboxed)" : "berth local", () => child.pid!);
  } finally {
    // "stop" stops every instance; the daemon exits after that.
    child.stdin!.write("stop\n");
    await new Promise((r) => child.once("exit", r));
  }
}

async function benchPm2(dir: string, up: UpListener, port: number): Promise<Result> {
  up.latest.clear();
  const pm2 = join(import.meta.dirname, "..", "node_modules", ".bin", "pm2");
  const env = { ...process.env, PM2_HOME: join(dir, "pm2") };
  const apps = Array.from({ length: N }, (_, i) => ({
    name: `app-${i}`, script: join(dir, "app", "app.cjs"), exec_mode: "fork", autorestart: true,
    env: { BENCH_ID: `pm2-${i}`, BENCH_UDP_PORT: String(port) },
  }));
  writeFileSync(join(dir, "ecosystem.config.cjs"), `module.exports = ${JSON.stringify({ apps })};`);
  execFileSync(pm2, ["start", join(dir, "ecosystem.config.cjs")], { env, stdio: "ignore" });
  try {
    await up.until(() => up.latest.size >= N, 60_000);
    const godPid = () => Number(readFileSync(join(dir, "pm2", "pm2.pid"), "utf8"));
    return await measureKills(up, "pm2 (fork mode)", godPid);
  } finally {
    execFileSync(pm2, ["kill"], { env, stdio: "ignore" });
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "berth-bench-"));
  const up = new UpListener();
  const port = await up.listen();
  try {
    execFileSync("mkdir", ["-p", join(dir, "app")]);
    writeFileSync(join(dir, "app", "app.cjs"), APP);
    const berth = await benchBerth(dir, up, port);
    const pm2 = await benchPm2(dir, up, port);
    const fmt = (r: Result) => `${r.name.padEnd(26)} p50 ${r.p50Ms.toFixed(1).padStart(7)} ms   p95 ${r.p95Ms.toFixed(1).padStart(7)} ms   supervisor RSS ${r.rssMb.toFixed(1).padStart(6)} MB`;
    console.log(`exit -> restarted, ${N} instances, ${KILLS} kill -9s each (node ${process.version})`);
    console.log(fmt(berth));
    console.log(fmt(pm2));
    console.log(`ratios berth/pm2: p50 ${(berth.p50Ms / pm2.p50Ms).toFixed(2)}x  p95 ${(berth.p95Ms / pm2.p95Ms).toFixed(2)}x  RSS ${(berth.rssMb / pm2.rssMb).toFixed(2)}x`);
  } finally {
    up.socket.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
