/**
 * HAProxy as a supervised process in master-worker mode. Berth validates every candidate
 * configuration with `haproxy -c` before it becomes the active file, reloads by signalling the
 * master (SIGUSR2: the master re-reads the file and hands the listening sockets to the new
 * worker, so no connection is refused), and restarts the master with backoff if it dies.
 *
 * The master belongs to the state dir (issue 15): its pid and start time are recorded in
 * `haproxy.pid.json`, so a daemon restarted after SIGKILL adopts it (`start` returns
 * `adopted: true`) instead of starting a second router on the same port; masters of this
 * configuration that no record accounts for are stopped first. The rendered configuration
 * uses `noreuseport`, so a router whose port is taken fails at once with the holder named.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { BerthError } from "../core/errors.ts";
import type { EventSink } from "../core/events.ts";
import { alive, liveRecordedMaster, mastersFor, processesFor, removeMasterRecord, startTicksOf, writeMasterRecord } from "./haproxy-pids.ts";
import { bindFailure, portHolder } from "./port-holder.ts";
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
  /** The master, when this process spawned it. */
  #child: ChildProcess | undefined;
  /** The master, when it was adopted from a previous daemon (not our child: watched by polling). */
  #adopted: number | undefined;
  #watch: NodeJS.Timeout | undefined;
  #stopping = false;
  #restarts = 0;
  #workerPid = 0;

  constructor(options: HaproxyProcessOptions) {
    this.options = options;
    this.api = new RuntimeApi(options.adminSocketPath);
  }

  /** `haproxy.pid.json` next to the configuration. */
  get recordPath(): string {
    return join(dirname(this.options.configPath), "haproxy.pid.json");
  }

  get masterPid(): number | undefined {
    return this.#child?.pid ?? this.#adopted;
  }

  /** PID of the current worker (the one answering the admin socket). */
  get workerPid(): number {
    return this.#workerPid;
  }

  /**
   * Adopts the master a previous daemon of this state dir left running, when its record is
   * valid and a worker answers; returns false (having stopped any master of this configuration
   * it cannot vouch for) when there is none to adopt.
   */
  async adopt(): Promise<boolean> {
    this.#stopping = false;
    const record = liveRecordedMaster(this.recordPath, this.options.configPath);
    if (record) {
      try {
        await this.#waitWorker(0, 2_000);
        this.#adopted = record.pid;
        this.#watchAdopted(record.pid);
        return true;
      } catch {
        // A master whose worker does not answer is not worth keeping: replaced below.
      }
    }
    const strays = mastersFor(this.options.configPath);
    if (strays.length > 0) {
      await Promise.all(strays.map((pid) => terminate(pid, 5_000)));
      this.options.events?.emit({ type: "router:strays-stopped", data: { pids: strays } });
    }
    // Workers of those masters outlive them while they finish connections (up to
    // hard-stop-after): a new master must not start beside them.
    await sweep(this.options.configPath, 0);
    removeMasterRecord(this.recordPath);
    return false;
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
    const output: string[] = [];
    const forward = (buf: Buffer): void => {
      for (const line of buf.toString("utf8").split("\n")) {
        if (!line.trim()) continue;
        if (output.length < 50) output.push(line);
        this.options.onOutput?.(line);
      }
    };
    child.stdout?.on("data", forward);
    child.stderr?.on("data", forward);
    let started = false;
    child.on("exit", (code, signal) => {
      if (this.#child === child) this.#child = undefined;
      // A master that never came up is reported by the start that spawned it, not restarted.
      if (this.#stopping || !started) return;
      this.options.events?.emit({ type: "router:exited", data: { code, signal } });
      void this.#restart();
    });
    const exited = once(child, "exit").then(() => "exited" as const);
    const ready = this.#waitWorker(0, this.options.startTimeoutMs ?? 10_000).then(() => "ready" as const);
    const first = await Promise.race([exited, ready.catch((e: unknown) => e)]);
    if (first !== "ready") {
      child.kill("SIGKILL");
      if (first === "exited") await new Promise((r) => setImmediate(r)); // let the last output lines arrive
      const taken = bindFailure(output.join("\n"));
      if (taken) throw new BerthError("BERTH_ROUTER_PORT_TAKEN", { address: taken.address, holder: portHolder(taken.port) ?? "another process" });
      throw new BerthError("BERTH_ROUTER_HAPROXY_FAILED", { action: "start", detail: first === "exited" ? `exited with code ${child.exitCode}: ${output.slice(-3).join(" | ")}` : String(first) });
    }
    started = true;
    const ticks = child.pid ? startTicksOf(child.pid) : undefined;
    if (child.pid && ticks !== undefined) writeMasterRecord(this.recordPath, { pid: child.pid, startTicks: ticks, configPath: this.options.configPath });
  }

  /** An adopted master is not our child: its exit is noticed by polling /proc. */
  #watchAdopted(pid: number): void {
    clearInterval(this.#watch);
    this.#watch = setInterval(() => {
      if (alive(pid) || this.#adopted !== pid) return;
      clearInterval(this.#watch);
      this.#adopted = undefined;
      if (this.#stopping) return;
      this.options.events?.emit({ type: "router:exited", data: { code: null, signal: null } });
      void this.#restart();
    }, 500);
    this.#watch.unref();
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
    const pid = this.masterPid;
    if (!pid) throw new BerthError("BERTH_ROUTER_HAPROXY_FAILED", { action: "reload", detail: "not running" });
    const previous = this.#workerPid;
    process.kill(pid, "SIGUSR2");
    await this.#waitWorker(previous, timeoutMs);
  }

  /** Stops the master: graceful lets workers finish their connections (SIGUSR1), else SIGTERM. */
  async stop(options: { graceful?: boolean; timeoutMs?: number } = {}): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#watch);
    const signal = options.graceful ? "SIGUSR1" : "SIGTERM";
    const adopted = this.#adopted;
    this.#adopted = undefined;
    if (adopted !== undefined) await terminate(adopted, options.timeoutMs ?? 10_000, signal);
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, "exit");
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 10_000);
      await exited;
      clearTimeout(timer);
    }
    // stop() leaves nothing behind: workers finishing their connections are waited for, then killed.
    await sweep(this.options.configPath, options.timeoutMs ?? 10_000);
    removeMasterRecord(this.recordPath);
  }
}

/** Waits up to `graceMs` for every HAProxy process on this configuration to end, then kills what is left. */
async function sweep(configPath: string, graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const left = processesFor(configPath);
    if (left.length === 0) return;
    if (Date.now() >= deadline) {
      for (const pid of left) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone meanwhile
        }
      }
      if (Date.now() >= deadline + 2_000) return; // killed: they are gone in moments, sockets with them
    }
    await sleep(25);
  }
}

/** Signals a process that is not our child and waits (polling) until it is gone; SIGKILL after `timeoutMs`. */
async function terminate(pid: number, timeoutMs: number, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    return; // already gone
  }
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        return;
      }
    }
    await sleep(25);
  }
}
