/**
 * Helpers for fault tests: a real daemon in its own process (daemon-harness.ts) that can be
 * killed with SIGKILL, and counts of what a data dir runs, read from /proc — processes,
 * listening ports, routers, database servers — so a test can tell orphans from survivors.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ENGINE_ID_VAR } from "../../src/engine/local/instance-env.ts";
import { leadersWithEnv } from "../../src/engine/local/proc.ts";
import { mastersFor } from "../../src/router/haproxy-pids.ts";

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RunningDaemon {
  readonly child: ChildProcess;
  readonly url: string;
  readonly token: string;
  api<T = any>(method: string, path: string, body?: unknown): Promise<T>;
}

/** Starts the harness daemon on a data dir; resolves once it listens. */
export async function startDaemonProcess(dataDir: string, apiPort: number, httpPort: number, env: Record<string, string> = {}): Promise<RunningDaemon> {
  const child = spawn(process.execPath, [join(import.meta.dirname, "daemon-harness.ts"), dataDir, String(apiPort), String(httpPort)], {
    stdio: ["ignore", "pipe", "inherit"],
    // Its own process group, like a daemon started by an init system: SIGKILL reaches it alone.
    detached: true,
    env: { ...process.env, ...env },
  });
  const first = await Promise.race([
    createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next(),
    new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`daemon exited with ${code} before listening`)))),
  ]);
  const { url, token } = JSON.parse(first.value as string) as { url: string; token: string };
  return {
    child,
    url,
    token,
    async api(method, path, body) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const json = (await res.json()) as any;
      if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    },
  };
}

export async function kill9(d: RunningDaemon): Promise<void> {
  const exited = new Promise((r) => d.child.once("exit", r));
  d.child.kill("SIGKILL");
  await exited;
}

function pids(): number[] {
  return readdirSync("/proc").filter((n) => /^\d+$/.test(n)).map(Number);
}

function argv(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/** Process-group leaders of the instances of this data dir's engine. */
export function instanceLeaders(dataDir: string): number[] {
  const engineId = readFileSync(join(dataDir, "engine", "engine-id"), "utf8").trim();
  return leadersWithEnv(ENGINE_ID_VAR, engineId).map((p) => p.pid).sort((a, b) => a - b);
}

/** HAProxy masters running this data dir's router configuration. */
export function routerMasters(dataDir: string): number[] {
  return mastersFor(join(dataDir, "router", "haproxy.cfg"));
}

/**
 * Database servers of this data dir: postgres postmasters and redis-servers whose command line
 * names it. `postgres` are the live servers (`.../instances/<id>/data`); `scratch` the throwaway
 * servers drills restore into (`.../scratch/<id>`), which come and go on their own schedule.
 */
export function dataServers(dataDir: string): { postgres: number[]; redis: number[]; scratch: number[] } {
  const postgres: number[] = [];
  const redis: number[] = [];
  const scratch: number[] = [];
  for (const pid of pids()) {
    const a = argv(pid);
    const bin = a[0]?.split("/").at(-1) ?? "";
    const names = a.some((x) => x.startsWith(dataDir)) || (() => {
      try {
        return readlinkSync(`/proc/${pid}/cwd`).startsWith(dataDir);
      } catch {
        return false;
      }
    })();
    if (!names) continue;
    if (bin === "postgres" && a.includes("-D")) (a[a.indexOf("-D") + 1]?.includes("/scratch/") ? scratch : postgres).push(pid);
    if (bin.startsWith("redis-server")) redis.push(pid);
  }
  return { postgres, redis, scratch };
}

/** The environment a process runs with, from /proc/<pid>/environ. */
export function environOf(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")) {
    const eq = kv.indexOf("=");
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return env;
}

/** TCP ports in LISTEN state held by these very processes. */
export function listeningPortsOfPids(pidList: readonly number[]): number[] {
  return listeningPorts(pidList, (pid) => pid);
}

/** TCP ports in LISTEN state held by any process of these process groups. */
export function listeningPorts(groups: readonly number[], keyOf: (pid: number, pgrp: number) => number = (_pid, pgrp) => pgrp): number[] {
  const inodeToPort = new Map<string, number>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] !== "0A" || !f[1] || !f[9]) continue;
      inodeToPort.set(`socket:[${f[9]}]`, Number.parseInt(f[1].split(":").at(-1)!, 16));
    }
  }
  const wanted = new Set(groups);
  const ports = new Set<number>();
  for (const pid of pids()) {
    let pgrp = 0;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
    } catch {
      continue;
    }
    if (!wanted.has(keyOf(pid, pgrp))) continue;
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const port = inodeToPort.get(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (port !== undefined) ports.add(port);
      } catch {
        // closed meanwhile
      }
    }
  }
  return [...ports].sort((a, b) => a - b);
}
