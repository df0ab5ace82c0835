/**
 * The local daemon: `berth server` on this machine, found through the credentials file in its
 * data dir (`daemon.json`, mode 0600: it holds an owner token). `berth up` starts one as a
 * detached child when none runs; every stack on the machine shares it, so it stops only when
 * no stack runs on it any more.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { defaultDataDir } from "../core/config.ts";
import { BerthError } from "../core/errors.ts";
import { ApiClient, type Credentials } from "./client.ts";

export interface DaemonFile extends Credentials {
  readonly pid: number;
}

export function localDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.BERTH_DATA_DIR ?? defaultDataDir(process.getuid?.() === 0);
}

const credentialsPath = (dataDir: string) => join(dataDir, "daemon.json");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The running daemon of a data dir, or undefined (no file, unreadable file, or its process is gone). */
export function readLocalDaemon(dataDir: string): DaemonFile | undefined {
  const path = credentialsPath(dataDir);
  if (!existsSync(path)) return undefined;
  let d: DaemonFile;
  try {
    d = JSON.parse(readFileSync(path, "utf8")) as DaemonFile;
  } catch {
    return undefined; // another user's daemon (mode 0600), or a file being written
  }
  return typeof d.pid === "number" && alive(d.pid) ? d : undefined;
}

/** Returns a client for the local daemon, starting one if needed (`started` tells which). */
export async function ensureLocalDaemon(dataDir: string, onStart: (line: string) => void): Promise<{ client: ApiClient; started: boolean; pid: number }> {
  const existing = readLocalDaemon(dataDir);
  if (existing) return { client: new ApiClient(existing), started: false, pid: existing.pid };
  // 0711 like the daemon's own: database servers run as their own users and must traverse it.
  mkdirSync(dataDir, { recursive: true, mode: 0o711 });
  rmSync(credentialsPath(dataDir), { force: true });
  // Same form as this file: dist/*.js when running compiled, src/*.ts from a checkout.
  const main = fileURLToPath(new URL(`./main${import.meta.url.endsWith(".js") ? ".js" : ".ts"}`, import.meta.url));
  const log = openSync(join(dataDir, "daemon.log"), "a");
  const child = spawn(process.execPath, ["--max-semi-space-size=1", "--lite-mode", main, "server", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--credentials-file", credentialsPath(dataDir)], {
    detached: true,
    stdio: ["ignore", log, log],
    // A stack run by `berth up` is for this machine's user: the router listens on loopback.
    env: { ...process.env, BERTH_BIND: process.env.BERTH_BIND ?? "127.0.0.1" },
  });
  child.unref();
  onStart(`started a local Berth daemon (pid ${child.pid}, data ${dataDir}, log ${join(dataDir, "daemon.log")})`);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const d = readLocalDaemon(dataDir);
    if (d) return { client: new ApiClient(d), started: true, pid: d.pid };
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  throw new BerthError("BERTH_DAEMON_UNREACHABLE", { url: "local daemon", detail: `it did not start; see ${join(dataDir, "daemon.log")}` });
}

/** Environments on the daemon that still run (anything not `stopped`), as `project/env`. */
export async function runningStacks(client: ApiClient): Promise<string[]> {
  const r = await client.request<{ environments: { project: string; name: string; status: string }[] }>("GET", "/v1/status");
  return r.environments.filter((e) => e.status !== "stopped").map((e) => `${e.project}/${e.name}`);
}

/**
 * Stops the shared local daemon (and with it its router and data servers) only when no stack
 * runs on it any more. Returns the stacks that keep it running (empty when it stopped).
 */
export async function stopLocalDaemonIfIdle(client: ApiClient, pid: number): Promise<string[]> {
  const running = await runningStacks(client);
  if (running.length === 0) await stopLocalDaemon(pid);
  return running;
}

/** Stops a local daemon and waits for it to exit. */
export async function stopLocalDaemon(pid: number): Promise<void> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && alive(pid)) await sleep(100);
}
