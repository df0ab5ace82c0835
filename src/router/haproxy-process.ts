/**
 * HAProxy as a supervised child process in master-worker mode. Berth validates every candidate
 * configuration with `haproxy -c` before it becomes the active file, reloads by signalling the
 * master (SIGUSR2: the master re-reads the file and hands the listening sockets to the new
 * worker, so no connection is refused), and restarts the master with backoff if it dies.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { promisify } from "node:util";
import { BerthError } from "../core/errors.ts";
import type { EventSink } from "../core/events.ts";
import { RuntimeApi } from "./runtime-api.ts";

const execFileAsync = promisify(execFile);

export interface HaproxyProcessOptions {
  readonly binary?: string;
  /** The active configuration file; the master re-reads it on every reload. */
  readonly configPath: string;
  readonly adminSocketPath: string;
  readonly masterSocketPath: string;
  readonly events?: EventSink;
  /** Called with HAProxy's own stderr lines (alerts, warnings). */
  readonly onOutput?: (line: string) => void;
  readonly startTimeoutMs?: number;
  /** Called after the supervisor restarted a master that died (runtime state must be re-applied). */
  readonly onRestarted?: () => Promise<void>;
}

/** The exact argv of the master process. */
export function haproxyArgv(o: Pick<HaproxyProcessOptions, "configPath" | "masterSocketPath">): string[] {
  return ["-W", "-db", "-S", `${o.masterSocketPath},mode,600`, "-f", o.configPath];
}

/** The exact argv of a validation run. */
export function haproxyCheckArgv(configPath: string): string[] {
  return ["-c", "-q", "-f", configPath];
}

export interface ValidationResult {
  readonly ok: boolean;
  readonly output: string;
}

/** Runs `haproxy -c` on a candidate configuration. */
export async function validateHaproxyConfig(configPath: string, binary = "haproxy"): Promise<ValidationResult> {
  try {
    const { stdout, stderr } = await execFileAsync(binary, haproxyCheckArgv(configPath), { timeout: 30_000 });
    return { ok: true, output: `${stdout}${stderr}`.trim() };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${err.stdout ?? ""}${err.stderr ?? ""}`.trim() || err.message };
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The master process and its lifecycle. */
export class HaproxyProcess {
  readonly options: HaproxyProcessOptions;
  readonly api: RuntimeApi;
  #child: ChildProcess | undefined;
  #stopping = false;
  #restarts = 0;
  #workerPid = 0;

  constructor(options: HaproxyProcessOptions) {
    this.options = options;
    this.api = new RuntimeApi(options.adminSocketPath);
  }

  get masterPid(): number | undefined {
    return this.#child?.pid;
  }

  /** PID of the current worker (the one answering the admin socket). */
  get workerPid(): number {
    return this.#workerPid;
  }

  /** Starts the master and waits until a worker answers on the admin socket. */
  async start(): Promise<void> {
    this.#stopping = false;
    await this.#spawn();
  }

  async #spawn(): Promise<void> {
    const bin = this.options.binary ?? "haproxy";
    const child = spawn(bin, haproxyArgv(this.options), { stdio: ["ignore", "pipe", "pipe"] });
    this.#child = child;
    const forward = (buf: Buffer): void => {
      for (const line of buf.toString("utf8").split("\n")) if (line.trim()) this.options.onOutput?.(line);
    };
    child.stdout?.on("data", forward);
    child.stderr?.on("data", forward);
    child.on("exit", (code, signal) => {
      if (this.#child === child) this.#child = undefined;
      if (this.#stopping) return;
      this.options.events?.emit({ type: "router:exited", data: { code, signal } });
      void this.#restart();
    });
    const exited = once(child, "exit").then(() => "exited" as const);
    const ready = this.#waitWorker(0, this.options.startTimeoutMs ?? 10_000).then(() => "ready" as const);
    const first = await Promise.race([exited, ready.catch((e: unknown) => e)]);
    if (first !== "ready") {
      child.kill("SIGKILL");
      throw new BerthError("BERTH_ROUTER_HAPROXY_FAILED", { action: "start", detail: first === "exited" ? `exited with code ${child.exitCode}` : String(first) });
    }
  }

  async #restart(): Promise<void> {
    while (!this.#stopping) {
      this.#restarts++;
      const delayMs = Math.min(30_000, 250 * 2 ** Math.min(this.#restarts, 7));
      this.options.events?.emit({ type: "router:restarting", data: { attempt: this.#restarts, delayMs } });
      await sleep(delayMs);
      if (this.#stopping) return;
      try {
        await this.#spawn();
        this.#restarts = 0;
        await this.options.onRestarted?.().catch(() => {});
        return;
      } catch {
        // next attempt, with a longer delay
      }
    }
  }

  /** Waits until the admin socket answers with a worker PID other than `previousPid`. */
  async #waitWorker(previousPid: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      try {
        const info = await this.api.info();
        const pid = Number(info.Pid ?? 0);
        if (pid > 0 && pid !== previousPid) {
          this.#workerPid = pid;
          return;
        }
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
      }
      await sleep(25);
    }
    throw new BerthError("BERTH_ROUTER_HAPROXY_FAILED", { action: "worker start", detail: `no worker answered within ${timeoutMs} ms ${last}`.trim() });
  }

  /** Seamless reload: the master re-reads the active file; returns once the new worker answers. */
  async reload(timeoutMs = 10_000): Promise<void> {
    const child = this.#child;
    if (!child?.pid) throw new BerthError("BERTH_ROUTER_HAPROXY_FAILED", { action: "reload", detail: "not running" });
    const previous = this.#workerPid;
    child.kill("SIGUSR2");
    await this.#waitWorker(previous, timeoutMs);
  }

  /** Stops the master: graceful lets workers finish their connections (SIGUSR1), else SIGTERM. */
  async stop(options: { graceful?: boolean; timeoutMs?: number } = {}): Promise<void> {
    this.#stopping = true;
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, "exit");
    child.kill(options.graceful ? "SIGUSR1" : "SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 10_000);
    await exited;
    clearTimeout(timer);
  }
}
