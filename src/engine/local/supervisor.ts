/**
 * Keeps the local engine's instances running: starts them, watches them exit, applies the restart
 * policy with backoff, re-checks health, stops them gracefully, and adopts the ones a previous
 * daemon left running. One `Slot` per instance; its id, port and disks stay across restarts.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Clock } from "../../core/clock.ts";
import type { EventMap, EventSink, EventType } from "../../core/events.ts";
import { newId } from "../../core/ids.ts";
import type { ActualInstance, EnvOpener, HealthGate, InstanceState, LogLine, Release, Rollout, ServiceRef, ServiceSpec } from "../engine.ts";
import { serviceKey } from "../engine.ts";
import { CRASH_LOOP_WINDOW_MS, decideRestart, freshHistory } from "../rollout/restart-policy.ts";
import type { RolloutInstance } from "../rollout/rollout.ts";
import { type HealthMonitor, monitorHealth } from "./health-monitor.ts";
import { instanceEnv } from "./instance-env.ts";
import { type DiskMount, type Isolation, planLaunch } from "../../sandbox/launch.ts";
import type { LogFile, LogLimits } from "./log-files.ts";
import { LogPump } from "./log-pump.ts";
import type { PortPool } from "./ports.ts";
import { readStat } from "./proc.ts";
import { adoptGroup, type ExitInfo, reapGroup, type RunningGroup, spawnGroup, stopGroup } from "./process-group.ts";
import type { InstanceRecord, RecordStore, ServiceRecord } from "./records.ts";

export interface Prepared {
  readonly isolation: Isolation;
  readonly mounts: readonly DiskMount[];
  readonly disks: readonly { readonly name: string; readonly path: string }[];
  readonly cgroup?: string;
}

export interface SupervisorDeps {
  readonly records: RecordStore;
  readonly ports: PortPool;
  readonly clock: Clock;
  readonly events: EventSink;
  readonly openEnv: EnvOpener;
  readonly engineId: string;
  readonly pipesDir: string;
  readonly adoptPollMs: number;
  readonly logLimits: LogLimits;
  readonly redact: (text: string) => string;
  service(key: string): (ServiceRecord & { rollout?: Rollout }) | undefined;
  prepare(spec: ServiceSpec, release: Release, name: string): Promise<Prepared>;
  logFile(ref: ServiceRef, instance: string): LogFile;
  onLine(ref: ServiceRef, line: LogLine): void;
  oomKills(cgroup: string): number;
  /** Failed forks at pids.max in the instance's group (issue 17). */
  pidsLimitHits(cgroup: string): number;
  removeCgroup(cgroup: string): void;
  /** Whether every instance runs in a cgroup named after it (sandboxed engines, issue 17). */
  readonly limited: boolean;
  /** The limits an instance actually runs with (the spec's, defaults filled in). */
  limitsOf(spec: ServiceSpec): { readonly memoryBytes?: number; readonly pids?: number };
  /** How often running instances are checked for a reached process limit. */
  readonly limitPollMs?: number;
}

export interface Slot {
  rec: InstanceRecord;
  readonly key: string;
  spec: ServiceSpec;
  release: Release;
  proc?: RunningGroup;
  pump?: LogPump;
  state: InstanceState;
  /** Bumped on every start and exit, so stale callbacks and gates can tell. */
  run: number;
  stopping: boolean;
  timer?: NodeJS.Timeout;
  monitor?: HealthMonitor;
  cgroup?: string;
  /** The run in which a process limit was reached (reported and stopped once per run). */
  limitRun?: number;
  /** A start in progress; a stop waits for it so it cannot leave a process behind. */
  launching?: Promise<void>;
}

/** Without a rollout (after a daemon restart, before the next apply): alive after the grace period. */
const graceGate: HealthGate = {
  async wait(instance, spec) {
    await new Promise((r) => setTimeout(r, spec.graceMs));
    return instance.alive() ? { ok: true, detail: "alive" } : { ok: false, detail: "exited" };
  },
};

export class Supervisor {
  readonly #d: SupervisorDeps;
  readonly #slots = new Map<string, Slot>();

  readonly #limitTimer: NodeJS.Timeout | undefined;

  constructor(deps: SupervisorDeps) {
    this.#d = deps;
    if (deps.limited) {
      this.#limitTimer = setInterval(() => this.#checkLimits(), deps.limitPollMs ?? 1000);
      this.#limitTimer.unref();
    }
  }

  /**
   * A fork past pids.max fails inside the instance, which then usually spins or limps: the
   * group is stopped and reported as `instance:limit-exceeded`, and the restart policy decides
   * (issue 17). The kernel enforces the limit itself; this only makes it visible and final.
   */
  #checkLimits(): void {
    for (const slot of this.#slots.values()) {
      const proc = slot.proc;
      if (!slot.cgroup || !proc || slot.stopping || slot.limitRun === slot.run || !proc.alive()) continue;
      const hits = this.#d.pidsLimitHits(slot.cgroup);
      if (hits === 0) continue;
      slot.limitRun = slot.run;
      const max = this.#d.limitsOf(slot.spec).pids ?? 0;
      this.#emit(slot, "instance:limit-exceeded", { instance: slot.rec.id, limit: "pids", max, detail: `${hits} fork(s) failed at the limit of ${max} processes; the instance was stopped` });
      void this.#untraffic(slot).then(() => stopGroup(proc.pid, Math.min(1000, slot.spec.shutdownDelayMs)));
    }
  }

  /** Ports of every instance (starting or running), by project: the loopback policy's grants. */
  instancePorts(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const s of this.#slots.values()) {
      if (s.rec.port === undefined) continue;
      out.set(s.rec.ref.project, [...(out.get(s.rec.ref.project) ?? []), s.rec.port]);
    }
    return out;
  }

  slotsOf(key: string): Slot[] {
    return [...this.#slots.values()].filter((s) => s.key === key);
  }

  slot(key: string, id: string): Slot | undefined {
    const s = this.#slots.get(id);
    return s?.key === key ? s : undefined;
  }

  view(slot: Slot): RolloutInstance {
    const run = slot.run;
    return {
      id: slot.rec.id,
      releaseId: slot.rec.releaseId,
      ...(slot.rec.port !== undefined ? { endpoint: { host: "127.0.0.1", port: slot.rec.port } } : {}),
      alive: () => slot.run === run && !slot.stopping && (slot.proc?.alive() ?? false),
    };
  }

  describe(key: string): ActualInstance[] {
    return this.slotsOf(key).map((s) => ({
      id: s.rec.id,
      releaseId: s.rec.releaseId,
      releaseNumber: s.release.number,
      state: s.state,
      ...(s.proc?.alive() ? { pid: s.proc.pid } : {}),
      ...(s.rec.port !== undefined ? { endpoint: { host: "127.0.0.1", port: s.rec.port } } : {}),
      restarts: s.rec.restarts,
      startedAt: s.rec.startedAt,
      ...(s.rec.lastExit ? { lastExit: s.rec.lastExit } : {}),
    }));
  }

  /** Starts a new, not yet supervised instance (the rollout gates it, then calls markHealthy). */
  async startNew(spec: ServiceSpec, release: Release): Promise<RolloutInstance> {
    const key = serviceKey(spec.ref);
    const id = newId("in");
    const port = spec.listens ? await this.#d.ports.take(key) : undefined;
    const rec: InstanceRecord = {
      id, ref: spec.ref, releaseId: release.id, ...(port !== undefined ? { port } : {}),
      startedAt: new Date(this.#d.clock.now()).toISOString(), restarts: 0, history: freshHistory, supervised: false,
    };
    const slot: Slot = { rec, key, spec, release, state: "starting", run: 0, stopping: false };
    this.#slots.set(id, slot);
    try {
      await this.#launch(slot);
    } catch (e) {
      this.#slots.delete(id);
      if (port !== undefined) this.#d.ports.release(port);
      this.#d.records.deleteInstance(id);
      throw e;
    }
    return this.view(slot);
  }

  markHealthy(id: string): void {
    const slot = this.#slots.get(id);
    if (!slot) return;
    this.#save(slot, { supervised: true });
    this.#healthy(slot);
  }

  async stopSlot(id: string): Promise<void> {
    const slot = this.#slots.get(id);
    if (!slot) return;
    slot.stopping = true;
    clearTimeout(slot.timer);
    await slot.launching?.catch(() => {});
    slot.monitor?.stop();
    const wasRunning = slot.proc?.alive() ?? false;
    slot.state = "draining";
    if (slot.proc && wasRunning) await stopGroup(slot.proc.pid, slot.spec.shutdownDelayMs);
    else if (slot.proc) await reapGroup(slot.proc.pid);
    // Our own child lingers as a zombie until Node reaps it: wait for that, briefly.
    if (slot.proc) await Promise.race([slot.proc.exited, new Promise((r) => setTimeout(r, 1000))]);
    // Let the last words (written while stopping) reach the log before closing it.
    if (slot.pump) await Promise.race([slot.pump.ended, new Promise((r) => setTimeout(r, 500))]);
    slot.pump?.close();
    if (slot.cgroup) this.#d.removeCgroup(slot.cgroup);
    if (slot.rec.port !== undefined) this.#d.ports.release(slot.rec.port);
    this.#d.records.deleteInstance(id);
    for (const ext of ["out", "err"]) rmSync(join(this.#d.pipesDir, `${id}.${ext}`), { force: true });
    this.#slots.delete(id);
    if (wasRunning) this.#emit(slot, "instance:stopped", { instance: id });
  }

  /** Daemon shutdown: stop everything, or let go of it for the next daemon to adopt. */
  async shutdown(stopInstances: boolean): Promise<void> {
    clearInterval(this.#limitTimer);
    for (const s of this.#slots.values()) {
      clearTimeout(s.timer);
      s.monitor?.stop();
    }
    if (stopInstances) {
      await Promise.all([...this.#slots.keys()].map((id) => this.stopSlot(id)));
      return;
    }
    for (const s of this.#slots.values()) {
      s.stopping = true;
      s.proc?.detach();
      s.pump?.close();
    }
    this.#slots.clear();
  }

  /** Takes over what the records describe: live processes are adopted, dead ones handled as exits. */
  async adoptAll(records: readonly InstanceRecord[]): Promise<void> {
    for (const rec of records) {
      const svc = this.#d.service(serviceKey(rec.ref));
      const release = svc?.releases.find((r) => r.id === rec.releaseId);
      const stat = rec.pid ? readStat(rec.pid) : undefined;
      const alive = stat !== undefined && stat.startTicks === rec.startTicks && stat.state !== "Z";
      // Reap the group only when its leader pid is free or still (as a zombie) our process.
      const leftovers = async (): Promise<void> => {
        if (rec.pid && (stat === undefined || stat.startTicks === rec.startTicks)) await reapGroup(rec.pid);
      };
      if (!svc || !release || !rec.supervised) {
        // Mid-rollout or unknown: replace cleanly; the next reconcile starts what is desired.
        if (alive) await stopGroup(rec.pid!, svc?.spec.shutdownDelayMs ?? 10_000);
        else await leftovers();
        this.#d.records.deleteInstance(rec.id);
        continue;
      }
      const slot: Slot = { rec, key: serviceKey(rec.ref), spec: svc.spec, release, state: rec.exited ? "exited" : "healthy", run: 0, stopping: false };
      // Sandboxed, every instance runs in the cgroup named after it (see LocalEngine#prepare).
      if (this.#d.limited) slot.cgroup = rec.id;
      this.#slots.set(rec.id, slot);
      if (rec.port !== undefined) this.#d.ports.hold(rec.port);
      if (alive) {
        this.#attach(slot, adoptGroup(rec.pid!, rec.startTicks!, this.#d.adoptPollMs));
        this.#emit(slot, "instance:adopted", { instance: rec.id, pid: rec.pid! });
        this.#monitor(slot);
      } else if (!rec.exited) {
        await leftovers();
        slot.state = "exited";
        await this.#onExit(slot, slot.run, { code: null, signal: null });
      }
    }
  }

  // ---- internals --------------------------------------------------------------------------

  #emit<T extends EventType>(slot: Slot, type: T, data: EventMap[T]): void {
    const ref = slot.rec.ref;
    this.#d.events.emit({ type, scope: { project: ref.project, environment: ref.environment, service: ref.service }, actor: "system", data });
  }

  #save(slot: Slot, patch: Partial<InstanceRecord>): void {
    slot.rec = { ...slot.rec, ...patch };
    this.#d.records.saveInstance(slot.rec);
  }

  #attach(slot: Slot, proc: RunningGroup): void {
    const pipes = { out: join(this.#d.pipesDir, `${slot.rec.id}.out`), err: join(this.#d.pipesDir, `${slot.rec.id}.err`) };
    slot.pump?.close();
    slot.proc = proc;
    slot.pump = new LogPump(slot.rec.id, pipes, this.#d.logFile(slot.rec.ref, slot.rec.id), this.#d.logLimits, (line) => this.#d.onLine(slot.rec.ref, line), this.#d.redact);
    const run = ++slot.run;
    void proc.exited.then((info) => this.#onExit(slot, run, info));
  }

  #launch(slot: Slot): Promise<void> {
    const p = this.#doLaunch(slot);
    slot.launching = p;
    return p.finally(() => {
      if (slot.launching === p) delete slot.launching;
    });
  }

  async #doLaunch(slot: Slot): Promise<void> {
    const opened = await this.#d.openEnv(slot.release);
    const prep = await this.#d.prepare(slot.spec, slot.release, slot.rec.id);
    if (prep.cgroup) slot.cgroup = prep.cgroup;
    const env = instanceEnv({
      opened, engineId: this.#d.engineId, instanceId: slot.rec.id, ref: slot.rec.ref, release: slot.release,
      ...(slot.rec.port !== undefined ? { port: slot.rec.port } : {}), disks: prep.disks,
    });
    if (slot.release.artifact.kind !== "dir") throw new Error("not a dir artifact");
    const plan = planLaunch({ command: slot.spec.start, cwd: slot.release.artifact.path, env, disks: prep.mounts, isolation: prep.isolation });
    const pipes = { out: join(this.#d.pipesDir, `${slot.rec.id}.out`), err: join(this.#d.pipesDir, `${slot.rec.id}.err`) };
    const proc = spawnGroup(plan, pipes, slot.key);
    slot.state = "starting";
    this.#save(slot, { pid: proc.pid, startTicks: proc.startTicks, startedAt: new Date(this.#d.clock.now()).toISOString(), exited: false });
    this.#attach(slot, proc);
    this.#emit(slot, "instance:started", { instance: slot.rec.id, release: slot.release.number, pid: proc.pid, ...(slot.rec.port !== undefined ? { port: slot.rec.port } : {}) });
  }

  #healthy(slot: Slot): void {
    slot.state = "healthy";
    this.#emit(slot, "instance:healthy", { instance: slot.rec.id });
    this.#monitor(slot);
  }

  #monitor(slot: Slot): void {
    slot.monitor?.stop();
    const path = slot.spec.health.path;
    if (!slot.spec.listens || !path || slot.rec.port === undefined || !slot.proc) return;
    const proc = slot.proc;
    slot.monitor = monitorHealth({ host: "127.0.0.1", port: slot.rec.port }, { ...slot.spec.health, path }, (reason) => {
      if (slot.proc !== proc || slot.stopping) return;
      slot.state = "unhealthy";
      this.#emit(slot, "instance:unhealthy", { instance: slot.rec.id, reason });
      void this.#untraffic(slot).then(() => stopGroup(proc.pid, slot.spec.shutdownDelayMs));
    });
  }

  async #untraffic(slot: Slot): Promise<void> {
    const svc = this.#d.service(slot.key);
    if (!slot.spec.listens || !svc?.rollout) return;
    await svc.rollout.traffic.remove(slot.rec.ref, slot.rec.id, { drainMs: 0 }).catch(() => {});
  }

  async #onExit(slot: Slot, run: number, info: ExitInfo): Promise<void> {
    if (slot.run !== run || slot.stopping) return;
    slot.run++;
    slot.monitor?.stop();
    if (slot.proc) await reapGroup(slot.proc.pid);
    if (slot.stopping) return;
    const now = this.#d.clock.now();
    const oom = slot.cgroup ? this.#d.oomKills(slot.cgroup) > 0 : false;
    const lastExit = { code: info.code, signal: info.signal, oom, at: new Date(now).toISOString() };
    this.#emit(slot, "instance:exited", { instance: slot.rec.id, code: info.code, signal: info.signal, oom });
    if (oom) {
      const limitBytes = this.#d.limitsOf(slot.spec).memoryBytes ?? 0;
      this.#emit(slot, "instance:oom", { instance: slot.rec.id, limitBytes });
      this.#emit(slot, "instance:limit-exceeded", { instance: slot.rec.id, limit: "memory", max: limitBytes, detail: `the kernel killed it at its memory limit of ${Math.round(limitBytes / 1024 ** 2)} MiB` });
    }
    if (!slot.rec.supervised) {
      slot.state = "exited";
      this.#save(slot, { lastExit });
      return;
    }
    await this.#untraffic(slot);
    const decision = decideRestart(slot.spec.restart, { code: info.code, signal: info.signal, startedAtMs: Date.parse(slot.rec.startedAt), exitedAtMs: now }, slot.rec.history);
    if (!decision.restart) {
      slot.state = "exited";
      this.#save(slot, { lastExit, history: decision.history, exited: true });
      this.#emit(slot, "instance:failed", { instance: slot.rec.id, reason: decision.reason ?? "not restarted" });
      return;
    }
    this.#save(slot, { lastExit, history: decision.history, restarts: slot.rec.restarts + 1 });
    this.#emit(slot, "instance:restarting", { instance: slot.rec.id, attempt: decision.attempt, delayMs: decision.delayMs });
    if (decision.crashLooping && slot.state !== "crash-looping") {
      this.#emit(slot, "instance:crash-looping", { instance: slot.rec.id, failures: decision.failures, windowMs: CRASH_LOOP_WINDOW_MS });
    }
    slot.state = decision.crashLooping ? "crash-looping" : "starting";
    slot.timer = setTimeout(() => void this.#relaunch(slot), decision.delayMs);
  }

  async #relaunch(slot: Slot): Promise<void> {
    if (slot.stopping) return;
    const crashLooping = slot.state === "crash-looping";
    try {
      await this.#launch(slot);
    } catch (e) {
      this.#emit(slot, "engine:warning", { message: `restarting ${slot.rec.id} failed: ${(e as Error).message}` });
      const run = ++slot.run;
      await this.#onExit(slot, run, { code: 127, signal: null });
      return;
    }
    if (crashLooping) slot.state = "crash-looping";
    const run = slot.run;
    const view = this.view(slot);
    const svc = this.#d.service(slot.key);
    const gate = svc?.rollout?.health ?? graceGate;
    const res = await gate.wait({ id: view.id, endpoint: view.endpoint, alive: view.alive }, slot.spec.health, new AbortController().signal);
    if (slot.run !== run || slot.stopping) return;
    if (!res.ok) {
      if (slot.proc?.alive()) await stopGroup(slot.proc.pid, slot.spec.shutdownDelayMs);
      return;
    }
    this.#healthy(slot);
    if (slot.spec.listens && view.endpoint && svc?.rollout) await svc.rollout.traffic.add(slot.rec.ref, slot.rec.id, view.endpoint).catch(() => {});
  }
}
