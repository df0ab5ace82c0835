/**
 * Idle daemon footprint: RSS and CPU of `berth server` (memory engine) over a window, with no
 * projects and with 20 services. Baseline in the same run: a bare `node` process idling, so the
 * ratio says what Berth adds on top of the runtime. Usage: node bench/daemon-idle.ts [seconds]
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { daemonCredentials } from "./daemon.ts";

const seconds = Number(process.argv[2] ?? 60);
// The daemon as users run it: compiled (`bash scripts/build.sh`), with bin/berth's flags.
const MAIN = new URL("../dist/cli/main.js", import.meta.url).pathname;
const TICKS = 100; // USER_HZ on Linux

function sample(pid: number): { rssBytes: number; cpuMs: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return { rssBytes: rssKb * 1024, cpuMs: ((Number(stat[11]) + Number(stat[12])) * 1000) / TICKS };
}

async function measure(pid: number): Promise<{ rssMb: number; cpuPercent: number }> {
  await sleep(2000); // settle after start-up
  const a = sample(pid);
  let peak = a.rssBytes;
  const t0 = Date.now();
  while (Date.now() - t0 < seconds * 1000) {
    await sleep(1000);
    peak = Math.max(peak, sample(pid).rssBytes);
  }
  const b = sample(pid);
  return { rssMb: peak / 2 ** 20, cpuPercent: ((b.cpuMs - a.cpuMs) / (Date.now() - t0)) * 100 };
}

async function daemon(services: number): Promise<{ rssMb: number; cpuPercent: number }> {
  const dir = mkdtempSync(join(tmpdir(), "berth-bench-"));
  const creds = join(dir, "daemon.json");
  const child = spawn(process.execPath, ["--max-semi-space-size=1", "--lite-mode", MAIN, "server", "--data-dir", dir, "--listen", "127.0.0.1:0", "--engine", "memory", "--credentials-file", creds], {
    stdio: "ignore",
    // HAProxy is a process of its own (measured in the router bench); this measures the daemon.
    env: { ...process.env, BERTH_RESYNC_INTERVAL_MS: "30000", BERTH_ROUTER: "off" },
  });
  try {
    const c = await daemonCredentials(creds);
    if (services > 0) {
      const src = join(dir, "app");
      mkdirSync(src);
      writeFileSync(join(src, "server.js"), "");
      const svc = Array.from({ length: services }, (_, i) => `  svc-${i}:\n    type: worker\n    start: node server.js\n    health: { grace: 100ms }\n`).join("");
      const res = await fetch(`${c.url}/v1/sync`, {
        method: "POST",
        headers: { authorization: `Bearer ${c.token}`, "content-type": "application/json" },
        body: JSON.stringify({ environment: "production", blueprint: `version: 1\nproject: bench\nservices:\n${svc}`, sourceDir: src }),
      });
      if (res.status !== 202) throw new Error(`sync: ${res.status} ${await res.text()}`);
      for (let i = 0; i < 600; i++) {
        const env = (await (await fetch(`${c.url}/v1/projects/bench/environments/production`, { headers: { authorization: `Bearer ${c.token}` } })).json()) as { status: string };
        if (env.status === "live") break;
        await sleep(100);
      }
    }
    return await measure(child.pid!);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function bareNode(): Promise<{ rssMb: number; cpuPercent: number }> {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  try {
    return await measure(child.pid!);
  } finally {
    child.kill("SIGTERM");
  }
}

const base = await bareNode();
const empty = await daemon(0);
const twenty = await daemon(20);
const row = (name: string, r: { rssMb: number; cpuPercent: number }) =>
  `| ${name} | ${r.rssMb.toFixed(1)} MB | ${r.cpuPercent.toFixed(2)} % | ${(r.rssMb / base.rssMb).toFixed(2)}x |`;
console.log(`idle over ${seconds} s (peak RSS, CPU of one core; ratio = RSS vs bare node)`);
console.log("| process | RSS | CPU | RSS vs bare node |\n|---|---|---|---|");
console.log(row("bare node (baseline)", base));
console.log(row("berth server, no projects", empty));
console.log(row("berth server, 20 services (memory engine)", twenty));
