/**
 * A load client standing in for the router in the swarm tests: a child process (in the swarm's
 * network namespace) sending GET / round-robin, every 10 ms, to the endpoints a TrafficPort has in
 * rotation. `stop()` returns what it counted, with when each failure happened.
 */
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { Endpoint, TrafficPort } from "../../engine.ts";

/** The client's own source: reads "set host:port,...", "host <Host header>" and "stop" on stdin, prints JSON counts. */
export const LOAD_CLIENT = `
const http = require("node:http");
let targets = [], n = 0, hostHeader, timeoutMs = 3000;
const stats = { ok: 0, failed: 0, errors: [], failedAt: [], bodies: {}, byTarget: {}, slow: 0, maxMs: 0 };
require("node:readline").createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.startsWith("set")) targets = line.slice(4).split(",").filter(Boolean);
  if (line.startsWith("host ")) hostHeader = line.slice(5);
  if (line.startsWith("timeout ")) timeoutMs = Number(line.slice(8));
  if (line === "stop") { console.log(JSON.stringify(stats)); process.exit(0); }
});
setInterval(() => {
  if (targets.length === 0) return;
  const target = targets[n++ % targets.length];
  const [host, port] = target.split(":");
  const fail = (why) => { stats.failed++; stats.failedAt.push(Date.now()); if (stats.errors.length < 20) stats.errors.push(target + ": " + why); };
  const t0 = Date.now();
  const req = http.get({ host, port: Number(port), path: "/", agent: false, timeout: timeoutMs, ...(hostHeader ? { headers: { host: hostHeader } } : {}) }, (res) => {
    let body = "";
    res.on("data", (c) => (body += c));
    res.on("end", () => {
      const ms = Date.now() - t0;
      if (ms > 1000) stats.slow++;
      stats.maxMs = Math.max(stats.maxMs, ms);
      if (res.statusCode === 200) { stats.ok++; const k = body.split(" ")[1]; stats.bodies[k] = (stats.bodies[k] || 0) + 1; stats.byTarget[host] = (stats.byTarget[host] || 0) + 1; }
      else fail("HTTP " + res.statusCode);
    });
  });
  req.on("timeout", () => req.destroy(new Error("timeout")));
  req.on("error", (e) => fail(e.message));
}, 10);
console.log("ready");
`;

export interface LoadStats {
  readonly ok: number;
  readonly failed: number;
  readonly errors: readonly string[];
  /** When each failed request failed (ms since the epoch). */
  readonly failedAt: readonly number[];
  /** Successful answers by their second word (the test app's GREETING). */
  readonly bodies: Readonly<Record<string, number>>;
  /** Successful answers by backend host (node address). */
  readonly byTarget: Readonly<Record<string, number>>;
  /** Answers that took longer than 1 s, and the slowest one. */
  readonly slow: number;
  readonly maxMs: number;
}

export interface LoadClient {
  /** The rotation the client sends to, kept by this TrafficPort. */
  readonly traffic: TrafficPort;
  readonly rotation: ReadonlyMap<string, Endpoint>;
  /** `add id` / `remove id`, in order. */
  readonly calls: readonly string[];
  /** Sends to fixed targets instead (a router), with this Host header. */
  fixed(targets: readonly string[], hostHeader?: string, timeoutMs?: number): void;
  stop(): Promise<LoadStats>;
  kill(): void;
}

/** Starts the client with `spawn(argv)` (a spawner into the right namespace). */
export function startLoadClient(spawnIn: (argv: readonly string[]) => ChildProcess): LoadClient {
  const child = spawnIn([process.execPath, "-e", LOAD_CLIENT]);
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on("line", (l) => lines.push(l));
  const rotation = new Map<string, Endpoint>();
  const calls: string[] = [];
  const publish = (): void => void child.stdin!.write(`set ${[...rotation.values()].map((e) => `${e.host}:${e.port}`).join(",")}\n`);
  return {
    rotation,
    calls,
    traffic: {
      add: async (_s, id, endpoint) => {
        calls.push(`add ${id} ${endpoint.host}:${endpoint.port}`);
        rotation.set(id, endpoint);
        publish();
      },
      remove: async (_s, id) => {
        calls.push(`remove ${id}`);
        rotation.delete(id);
        publish();
      },
    },
    fixed: (targets, hostHeader, timeoutMs) => {
      if (hostHeader) child.stdin!.write(`host ${hostHeader}\n`);
      if (timeoutMs) child.stdin!.write(`timeout ${timeoutMs}\n`);
      child.stdin!.write(`set ${targets.join(",")}\n`);
    },
    stop: async () => {
      const exited = new Promise((r) => child.once("exit", r));
      child.stdin!.write("stop\n");
      await exited;
      return JSON.parse(lines.find((l) => l.startsWith("{"))!) as LoadStats;
    },
    kill: () => {
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}
