/**
 * The local engine: every instance a supervised process group on this host. Rollouts use the
 * shared algorithm (`rollout/`); this file supervises: restarts with backoff, continued health
 * checks, graceful stops, adoption after a daemon restart, and isolation when running as root.
 * Decisions are in docs/design/engine-local.md.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EventEmitter, on } from "node:events";
import type { Clock } from "../../core/clock.ts";
import { systemClock } from "../../core/clock.ts";
import { BerthError } from "../../core/errors.ts";
import type { EventMap, EventType } from "../../core/events.ts";
import { newId } from "../../core/ids.ts";
import type {
  ActualService, Engine, EngineDeps, EnvironmentRef, InstanceStats, LogLine, LogSelector, Release, Rollout, RolloutEvent,
  ServiceRef, ServiceSpec, TaskResult, TaskSpec,
} from "../engine.ts";
import { serviceKey } from "../engine.ts";
import { type EnvironmentNetwork, renderHostsFile } from "../network.ts";
import { type RolloutDriver, runRollout } from "../rollout/rollout.ts";
import { effectiveInstanceLimits } from "../../core/limits.ts";
import { detectCgroups, ensureProjectUser, ownDirectory, removeProjectUser, type Cgroups } from "../../sandbox/isolation.ts";
import type { LoopbackPolicy } from "../../sandbox/loopback-policy.ts";
import { instanceEnv, prepareDisks, serviceDir, ENGINE_ID_VAR } from "./instance-env.ts";
import { defaultLogLimits, type LogLimits, LogFile, matches, pruneLogs, readLogDir } from "./log-files.ts";
import { defaultPortRange, PortPool, type PortRange } from "./ports.ts";
import { groupUsage, isSameProcess, processesWithEnv } from "./proc.ts";
import { reapGroup } from "./process-group.ts";
import { RecordStore, type ServiceRecord } from "./records.ts";
import { type Prepared, Supervisor } from "./supervisor.ts";
import { runLocalTask } from "./task-runner.ts";

export interface LocalEngineOptions extends EngineDeps {
  /** Records, FIFOs, logs and disks live here; it must survive daemon restarts. */
  readonly stateDir: string;
  readonly portRange?: PortRange;
  readonly clock?: Clock;
  readonly logLimits?: LogLimits;
  /** Log files of instances gone for longer than this are removed (default 7 days). */
  readonly logRetentionMs?: number;
  /** Isolate with users, bubblewrap and cgroups. Default: when running as root. */
  readonly sandbox?: boolean;
  /** Extra host paths visible read-only in the sandbox. Default: the Node install running Berth when it is outside /usr. */
  readonly readOnlyPaths?: readonly string[];
  /** How often adopted processes (not our children) are checked for exit. */
  readonly adoptPollMs?: number;
  /** How often running instances are checked for a reached process limit (default 1 s). */
  readonly limitPollMs?: number;
  /**
   * Loopback isolation between projects (sandboxed only): instance ports are granted to their
   * project before each start (src/sandbox/loopback-policy.ts).
   */
  readonly loopback?: LoopbackPolicy;
}

export class LocalEngine implements Engine {
  readonly name = "local";
  readonly #o: LocalEngineOptions;
  readonly #clock: Clock;
  readonly #records: RecordStore;
  readonly #ports: PortPool;
  readonly #sandboxed: boolean;
  readonly #cgroups: Cgroups | undefined;
  readonly #readOnlyPaths: readonly string[];
  readonly #logLimits: LogLimits;
  readonly #bus = new EventEmitter();
  readonly #services = new Map<string, ServiceRecord & { rollout?: Rollout }>();
  readonly #engineId: string;
  readonly #redact: (text: string) => string;
  #sup: Supervisor | undefined;
  #warned = false;
  #pruneTimer: NodeJS.Timeout | undefined;

  constructor(options: LocalEngineOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
    for (const d of ["logs", "disks", "pipes"]) mkdirSync(join(options.stateDir, d), { recursive: true, mode: 0o700 });
    this.#records = new RecordStore(options.stateDir);
    this.#ports = new PortPool(options.portRange ?? defaultPortRange);
    this.#sandboxed = options.sandbox ?? process.getuid?.() === 0;
    this.#cgroups = this.#sandboxed ? detectCgroups() : undefined;
    this.#logLimits = options.logLimits ?? defaultLogLimits;
    this.#redact = options.redact ?? ((text) => text);
    const nodeHome = dirname(dirname(process.execPath));
    // [e2e fix] Static sites run Berth's own static server (src/router/static/serve.ts): the
    // sandbox must see Berth's sources and their dependencies, read-only (never the whole checkout).
    const berthRoot = dirname(dirname(dirname(dirname(fileURLToPath(import.meta.url)))));
    const berthPaths = ["src", "dist", "node_modules", "package.json"].map((p) => join(berthRoot, p)).filter((p) => existsSync(p));
    this.#readOnlyPaths = options.readOnlyPaths ?? [...(nodeHome.startsWith("/usr") ? [] : [nodeHome]), ...berthPaths];
    this.#bus.setMaxListeners(0);
    const idFile = join(options.stateDir, "engine-id");
    if (!existsSync(idFile)) writeFileSync(idFile, newId("eng"), { mode: 0o600 });
    this.#engineId = readFileSync(idFile, "utf8").trim();
  }

  /** Whether instances run isolated (root) or plainly (not root). */
  get sandboxed(): boolean {
    return this.#sandboxed;
  }

  async start(): Promise<void> {
    if (this.#sup) return;
    if (!this.#sandboxed && !this.#warned) {
      this.#warned = true;
      this.#emitGlobal("engine:warning", { message: "local engine is not running as root: instances run unsandboxed as the daemon's user, without per-project users, bubblewrap or cgroup limits" });
    }
    for (const s of this.#records.services()) this.#services.set(serviceKey(s.spec.ref), s);
    const sup = new Supervisor({
      records: this.#records,
      ports: this.#ports,
      clock: this.#clock,
      events: this.#o.events,
      openEnv: this.#o.openEnv,
      pipesDir: join(this.#o.stateDir, "pipes"),
      adoptPollMs: this.#o.adoptPollMs ?? 200,
      service: (key) => this.#services.get(key),
      engineId: this.#engineId,
      prepare: (spec, release, id) => this.#prepare(spec, release, id),
      logFile: (ref, id) => new LogFile(serviceDir(join(this.#o.stateDir, "logs"), ref), id, this.#logLimits),
      logLimits: this.#logLimits,
      redact: this.#redact,
      onLine: (ref, line) => this.#bus.emit(serviceKey(ref), line),
      oomKills: (name) => this.#cgroups?.oomKills(name) ?? 0,
      pidsLimitHits: (name) => this.#cgroups?.pidsLimitHits(name) ?? 0,
      removeCgroup: (name) => this.#cgroups?.remove(name),
      limited: this.#cgroups !== undefined,
      limitsOf: (spec) => (this.#cgroups ? effectiveInstanceLimits(spec.limits) : spec.limits),
      ...(this.#o.limitPollMs !== undefined ? { limitPollMs: this.#o.limitPollMs } : {}),
    });
    // Processes of this engine in no live recorded group: spawned just before the daemon died
    // (no record yet), or left over from a group whose leader died while no daemon watched.
    const live = new Set(this.#records.instances().flatMap((r) => (r.pid && r.startTicks && isSameProcess(r.pid, r.startTicks) ? [r.pid] : [])));
    const strays = new Set(processesWithEnv(ENGINE_ID_VAR, this.#engineId).map((p) => p.pgrp).filter((g) => !live.has(g)));
    await Promise.all([...strays].map((g) => reapGroup(g)));
    await sup.adoptAll(this.#records.instances());
    // Named pipes of instances that are gone (killed while no daemon watched, or dropped at
    // adoption) would pile up in pipes/: only recorded instances keep theirs.
    const kept = new Set(this.#records.instances().map((r) => r.id));
    const pipesDir = join(this.#o.stateDir, "pipes");
    for (const f of readdirSync(pipesDir)) if (!kept.has(f.replace(/\.(out|err)$/, ""))) rmSync(join(pipesDir, f), { force: true });
    this.#sup = sup;
    if (this.#sandboxed && this.#o.loopback) await this.#grantPorts(sup).catch(() => {});
    this.#pruneLogs();
    this.#pruneTimer = setInterval(() => this.#pruneLogs(), 3_600_000);
    this.#pruneTimer.unref();
  }

  /** Time-based log retention (the files of instances that are gone), at start and hourly. */
  #pruneLogs(): void {
    try {
      const running = new Set(this.#records.instances().map((r) => r.id));
      pruneLogs(join(this.#o.stateDir, "logs"), running, this.#clock.now(), this.#o.logRetentionMs ?? 7 * 86_400_000);
    } catch (e) {
      this.#emitGlobal("engine:warning", { message: `log retention: ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  async stop(options: { readonly stopInstances: boolean }): Promise<void> {
    const sup = this.#sup;
    if (!sup) return;
    this.#sup = undefined;
    clearInterval(this.#pruneTimer);
    await sup.shutdown(options.stopInstances);
    if (options.stopInstances) for (const key of this.#services.keys()) this.#records.deleteService(key);
    this.#services.clear();
  }

  apply(spec: ServiceSpec, release: Release, rollout: Rollout, signal: AbortSignal): AsyncIterable<RolloutEvent> {
    const sup = this.#running();
    if (release.artifact.kind !== "dir") {
      const detail = new BerthError("BERTH_ENGINE_ARTIFACT_UNSUPPORTED", { engine: this.name, kind: release.artifact.kind, release: release.number }).message;
      return (async function* () {
        yield { step: "failed", detail, ms: 0 } satisfies RolloutEvent;
      })();
    }
    return runRollout(this.#driver(sup), spec, release, rollout, signal, this.#clock);
  }

  async runTask(spec: TaskSpec, signal: AbortSignal): Promise<TaskResult> {
    this.#running();
    const ref = spec.service.ref;
    this.#emit(ref, "task:started", { task: spec.id, kind: spec.kind });
    const opened = await this.#o.openEnv(spec.release);
    const prep = await this.#prepare(spec.service, spec.release, spec.id);
    const env = instanceEnv({ opened, extra: spec.extraEnv, engineId: `${this.#engineId}-task`, instanceId: spec.id, ref, release: spec.release, disks: prep.disks });
    const file = new LogFile(serviceDir(join(this.#o.stateDir, "logs"), ref), spec.id, this.#logLimits);
    const result = await runLocalTask({
      spec,
      env,
      cwd: releaseDir(spec.release),
      disks: prep.mounts,
      isolation: prep.isolation,
      signal,
      clock: this.#clock,
      maxLineBytes: this.#logLimits.maxLineBytes,
      onLine: (raw: LogLine) => {
        const line = { ...raw, line: this.#redact(raw.line) };
        file.append([line]);
        spec.onLog?.(line);
        this.#bus.emit(serviceKey(ref), line);
      },
      oomKills: () => (prep.cgroup ? (this.#cgroups?.oomKills(prep.cgroup) ?? 0) : 0),
      ...(prep.cgroup
        ? {
            pidsLimitHits: () => this.#cgroups?.pidsLimitHits(prep.cgroup!) ?? 0,
            onPidsLimit: (hits: number) => {
              const max = effectiveInstanceLimits(spec.service.limits).pids;
              this.#emit(ref, "instance:limit-exceeded", { instance: spec.id, limit: "pids", max, detail: `${hits} fork(s) failed at the limit of ${max} processes; the task was stopped` });
            },
          }
        : {}),
    });
    if (result.oom) {
      const max = effectiveInstanceLimits(spec.service.limits).memoryBytes;
      this.#emit(ref, "instance:limit-exceeded", { instance: spec.id, limit: "memory", max, detail: `the kernel killed the task at its memory limit of ${Math.round(max / 1024 ** 2)} MiB` });
    }
    file.close();
    if (prep.cgroup) this.#cgroups?.remove(prep.cgroup);
    this.#emit(ref, "task:finished", { task: spec.id, kind: spec.kind, exitCode: result.exitCode, ms: result.durationMs });
    return result;
  }

  async actual(env: EnvironmentRef): Promise<readonly ActualService[]> {
    const sup = this.#running();
    const out: ActualService[] = [];
    for (const [key, svc] of this.#services) {
      const ref = svc.spec.ref;
      if (ref.project !== env.project || ref.environment !== env.environment) continue;
      out.push({ ref, spec: svc.spec, releaseId: svc.release.id, instances: sup.describe(key) });
    }
    return out;
  }

  async *logs(selector: LogSelector): AsyncGenerator<LogLine> {
    const key = serviceKey(selector.service);
    const signal = selector.signal ?? new AbortController().signal;
    // Subscribe before reading the files; lines that land in both are yielded once.
    const since = new Date(this.#clock.now()).toISOString();
    const live = selector.follow ? on(this.#bus, key, { signal }) : undefined;
    const stored = readLogDir(serviceDir(join(this.#o.stateDir, "logs"), selector.service), selector);
    const seen = new Map<string, number>();
    const id = (l: LogLine): string => `${l.at}\n${l.instance}\n${l.stream}\n${l.line}`;
    for (const line of stored) {
      if (live && line.at >= since) seen.set(id(line), (seen.get(id(line)) ?? 0) + 1);
      yield line;
    }
    if (!live) return;
    try {
      for await (const [line] of live) {
        const l = line as LogLine;
        const n = seen.get(id(l));
        if (n) {
          seen.set(id(l), n - 1);
          continue;
        }
        if (matches(l, selector)) yield l;
      }
    } catch (e) {
      if (!signal.aborted) throw e;
    }
  }

  async stats(service: ServiceRef, instanceId: string): Promise<InstanceStats | undefined> {
    const slot = this.#running().slot(serviceKey(service), instanceId);
    if (!slot?.proc?.alive()) return undefined;
    const usage = groupUsage(slot.proc.pid);
    const uptimeMs = this.#clock.now() - Date.parse(slot.rec.startedAt);
    // 100 clock ticks per second on Linux; averaged over the instance's life.
    const cpuPercent = uptimeMs > 0 ? (usage.cpuTicks * 10 * 100) / uptimeMs : 0;
    return { cpuPercent, rssBytes: usage.rssBytes, uptimeMs };
  }

  async remove(service: ServiceRef, _signal: AbortSignal): Promise<void> {
    const sup = this.#running();
    const key = serviceKey(service);
    const svc = this.#services.get(key);
    await Promise.all(
      sup.slotsOf(key).map(async (slot) => {
        if (svc?.spec.listens && svc.rollout) await svc.rollout.traffic.remove(service, slot.rec.id, { drainMs: svc.spec.shutdownDelayMs });
        await sup.stopSlot(slot.rec.id);
      }),
    );
    this.#services.delete(key);
    this.#records.deleteService(key);
    // The project's Unix user goes with its last service on this host (environments deleted).
    const inUse = [...this.#services.values()].some((s) => s.spec.ref.project === service.project);
    if (this.#sandboxed && !inUse) {
      if (removeProjectUser(service.project)) await this.#o.loopback?.forgetProject(service.project).catch(() => {});
      else this.#emitGlobal("engine:warning", { message: `the Unix user of project ${service.project} could not be removed yet (a process still runs as it); it is retried when a service of it is removed again` });
    }
  }

  /**
   * Rewrites the environment's hosts file in place (same inode): sandboxes bind it over
   * /etc/hosts, so running instances resolve a service added later without a restart.
   */
  async setNetwork(network: EnvironmentNetwork): Promise<void> {
    const file = this.#hostsFile(network.env);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const base = existsSync("/etc/hosts") ? readFileSync("/etc/hosts", "utf8") : "127.0.0.1\tlocalhost\n";
    const text = renderHostsFile(base, network.entries);
    if (existsSync(file) && readFileSync(file, "utf8") === text) return;
    writeFileSync(file, text, { mode: 0o644 });
  }

  #hostsFile(env: EnvironmentRef): string {
    return join(this.#o.stateDir, "net", env.project, env.environment, "hosts");
  }

  // ---- internals --------------------------------------------------------------------------

  #running(): Supervisor {
    if (!this.#sup) throw new BerthError("BERTH_ENGINE_STOPPED", { engine: this.name });
    return this.#sup;
  }

  #emit<T extends EventType>(ref: ServiceRef, type: T, data: EventMap[T]): void {
    this.#o.events.emit({ type, scope: { project: ref.project, environment: ref.environment, service: ref.service }, actor: "system", data });
  }

  #emitGlobal<T extends EventType>(type: T, data: EventMap[T]): void {
    this.#o.events.emit({ type, actor: "system", data });
  }

  /** Disks, user, ownership and cgroups for one process about to start. */
  async #prepare(spec: ServiceSpec, release: Release, name: string): Promise<Prepared> {
    const dir = releaseDir(release);
    const mounts = prepareDisks(join(this.#o.stateDir, "disks"), spec.ref, spec.disks, dir, this.#sandboxed);
    const disks = spec.disks.map((d, i) => ({ name: d.name, path: mounts[i]!.mountPath }));
    if (!this.#sandboxed) return { isolation: { kind: "none" }, mounts, disks };
    const user = ensureProjectUser(spec.ref.project);
    // Before the process exists: its peers may reach its port, nothing else of other projects.
    // A failing policy (no nftables) is reported as network:policy-failed; starts go on.
    if (this.#o.loopback && this.#sup) await this.#grantPorts(this.#sup).catch(() => {});
    ownDirectory(dir, user);
    for (const m of mounts) ownDirectory(m.hostPath, user);
    // Every sandboxed process gets a memory and a process limit, defaults where the blueprint
    // names none (issue 17): one service must not be able to exhaust the host.
    if (!this.#cgroups) throw new BerthError("BERTH_ENGINE_SANDBOX_FAILED", { service: serviceKey(spec.ref), step: "cgroups", detail: "no cgroup hierarchy found under /sys/fs/cgroup" });
    const cgroup = name;
    const cgroupProcs = this.#cgroups.create(name, effectiveInstanceLimits(spec.limits));
    // The release's toolchain (issue 14) lives in Berth's tool cache, outside the release dir.
    const runtimePaths = release.artifact.kind === "dir" ? (release.artifact.runtime?.readOnlyPaths ?? []) : [];
    const readOnlyPaths = [...new Set([...this.#readOnlyPaths, ...runtimePaths])];
    // Private networking (issue 22): the environment's internal names, when it has any yet.
    const hosts = this.#hostsFile(spec.ref);
    const hostsFile = existsSync(hosts) ? { hostsFile: hosts } : {};
    return { isolation: { kind: "sandbox", uid: user.uid, gid: user.gid, readOnlyPaths, cgroupProcs, ...hostsFile }, mounts, disks, cgroup };
  }

  /** Hands the loopback policy every project's instance ports (with its user). */
  #grantPorts(sup: Supervisor): Promise<void> {
    const byProject = new Map<string, { uid: number; ports: number[] }>();
    for (const [project, ports] of sup.instancePorts()) byProject.set(project, { uid: ensureProjectUser(project).uid, ports });
    return this.#o.loopback!.setInstancePorts(byProject);
  }

  #driver(sup: Supervisor): RolloutDriver {
    return {
      current: (ref) => {
        const svc = this.#services.get(serviceKey(ref));
        if (!svc) return undefined;
        return { spec: svc.spec, release: svc.release, instances: sup.slotsOf(serviceKey(ref)).map((s) => sup.view(s)) };
      },
      startInstance: (spec, release) => sup.startNew(spec, release),
      markHealthy: (_ref, id) => sup.markHealthy(id),
      stopInstance: (_ref, id) => sup.stopSlot(id),
      settle: (spec, release, rollout) => {
        const key = serviceKey(spec.ref);
        const prev = this.#services.get(key);
        const releases = [release, ...(prev?.releases ?? []).filter((r) => r.id !== release.id && sup.slotsOf(key).some((s) => s.rec.releaseId === r.id))];
        const rec: ServiceRecord = { spec, release, releases };
        this.#records.saveService(key, rec);
        this.#services.set(key, { ...rec, rollout });
      },
    };
  }
}

/** The directory an artifact runs from (apply() refuses other artifact kinds). */
export function releaseDir(release: Release): string {
  if (release.artifact.kind !== "dir") throw new BerthError("BERTH_ENGINE_ARTIFACT_UNSUPPORTED", { engine: "local", kind: release.artifact.kind, release: release.number });
  return release.artifact.path;
}

