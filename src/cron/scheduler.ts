/**
 * The cron scheduler: wakes at the next slot, plans every job purely (`planSlots`), claims the
 * due slots in one transaction, and runs each claimed slot as an Engine task. Level-based: all
 * state that matters (jobs, cursors, claims, pending retries and manual triggers) is in the
 * store, so a restart picks up where the last process stopped. Recovery happens in the first
 * pass: runs left `running` become `interrupted` (never re-run: they may have had effects),
 * claims left `claimed` never started and become `abandoned`; their slots go through the
 * missed-run policy together with the slots missed while the daemon was down.
 */
import type { Clock } from "../core/clock.ts";
import type { EventInput, EventSink, EventType } from "../core/events.ts";
import type { ServiceRef, TaskResult } from "../engine/engine.ts";
import type { Db } from "../store/db.ts";
import { type CronRunRow, CronRunRepository } from "../store/repositories/cron-runs.ts";
import { retryDelayMs } from "./backoff.ts";
import { type CronJob, type CronJobInput, jobKey, resolveCronJob } from "./job.ts";
import { decideOverlap } from "./overlap.ts";
import { planSlots } from "./plan.ts";
import { parseSchedule, type Schedule } from "./schedule.ts";
import { classify, LogTail, type TaskResolver, type TaskRunner, taskSpec } from "./task.ts";
import { triggerRun } from "./api.ts";

export interface CronSchedulerOptions {
  readonly db: Db;
  readonly clock: Clock;
  readonly runner: TaskRunner;
  readonly resolveTask: TaskResolver;
  readonly events: EventSink;
  /** Source of jitter for retry delays; Math.random by default. */
  readonly random?: () => number;
  /** Longest sleep between passes, so new jobs and clock jumps are noticed. Default 30 s. */
  readonly maxSleepMs?: number;
}

interface ActiveRun {
  readonly id: string;
  readonly key: string;
  readonly controller: AbortController;
  promise: Promise<void>;
  replacedBy?: string;
}

interface Loaded {
  readonly job: CronJob;
  readonly schedule: Schedule;
  readonly cursorMs: number | null;
}

const ms = (t: number) => new Date(t).toISOString();

export class CronScheduler {
  readonly #o: CronSchedulerOptions;
  readonly #repo: CronRunRepository;
  readonly #active = new Map<string, ActiveRun>();
  readonly #stop = new AbortController();
  readonly #cache = new Map<string, { json: string; job: CronJob; schedule: Schedule }>();
  #timer: NodeJS.Timeout | undefined;
  #state: "new" | "running" | "stopping" = "new";
  #recovered = false;

  constructor(options: CronSchedulerOptions) {
    this.#o = options;
    this.#repo = new CronRunRepository(options.db);
  }

  /** Recovers what a previous process left behind, then plans and arms the timer. */
  start(): void {
    if (this.#state !== "new") return;
    this.#state = "running";
    this.tick();
  }

  /**
   * Stops planning; lets active runs finish for up to `drainTimeoutMs`, then aborts them (they
   * are recorded `interrupted`). Resolves when every run is recorded.
   */
  async stop(options: { readonly drainTimeoutMs?: number } = {}): Promise<void> {
    this.#state = "stopping";
    clearTimeout(this.#timer);
    const all = () => Promise.allSettled([...this.#active.values()].map((a) => a.promise));
    const drainMs = options.drainTimeoutMs ?? 10_000;
    if (drainMs > 0 && this.#active.size > 0) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([all(), new Promise((r) => (t = setTimeout(r, drainMs)))]);
      clearTimeout(t);
    }
    this.#stop.abort(new Error("scheduler stopped"));
    await all();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop({ drainTimeoutMs: 0 });
  }

  /** Plans again now (after a manual trigger or a job change). */
  wake(): void {
    if (this.#state === "running") this.tick();
  }

  /** Records a manual run of `ref` (obeying its concurrency policy) and starts it. */
  trigger(ref: ServiceRef, actor = "system"): CronRunRow {
    const run = triggerRun(this.#o.db, ref, { nowMs: this.#o.clock.now(), actor, events: this.#o.events });
    this.wake();
    return run;
  }

  /** Ids of the runs this scheduler is executing. */
  activeRuns(): string[] {
    return [...this.#active.keys()];
  }

  /** Resolves when the runs active now have been recorded (for tests and drains). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#active.values()].map((a) => a.promise));
  }

  /** One planning pass: claims due slots, starts them and due pending runs, re-arms the timer. */
  tick(): number | undefined {
    if (this.#state !== "running") return undefined;
    const nowMs = this.#o.clock.now();
    const jobs = this.#load();
    const later: EventInput[] = [];
    const launches: { run: CronRunRow; job: CronJob }[] = [];
    let wakeMs: number | undefined;
    this.#repo.tx(() => {
      const abandoned = this.#recovered ? new Map<string, CronRunRow[]>() : this.#recover(nowMs, later);
      for (const { job, schedule, cursorMs } of jobs.values()) {
        const lost = abandoned.get(jobKey(job.ref)) ?? [];
        if (job.suspended) {
          this.#repo.setCursor(job.ref, nowMs);
          continue;
        }
        const plan = planSlots({ schedule, missed: job.missed, graceMs: job.graceMs, cursorMs: cursorMs ?? undefined, nowMs, abandonedMs: lost.map((r) => r.slotMs) });
        for (const slot of plan.run) {
          // A slot abandoned twice (two crashes) has two rows: the next attempt follows the last.
          const attempt = Math.max(0, ...lost.filter((r) => r.slotMs === slot.slotMs).map((r) => r.attempt)) + 1;
          // Catch-up runs are owed work: `pending`, they queue behind the job's active runs.
          const status = slot.catchUp ? "pending" : "claimed";
          const run = this.#repo.insert({ ref: job.ref, origin: "scheduled", slotMs: slot.slotMs, attempt, trigger: "scheduled", status, notBeforeMs: nowMs }, nowMs);
          if (!run) continue;
          if (status === "claimed") launches.push({ run, job });
          later.push(ev("cron:run:claimed", job.ref, { runId: run.id, slot: ms(run.slotMs), trigger: run.trigger, attempt }));
        }
        if (plan.missed) {
          for (const slotMs of plan.missed.slotsMs) {
            if (lost.some((r) => r.slotMs === slotMs)) continue;
            this.#repo.insert({ ref: job.ref, origin: "scheduled", slotMs, attempt: 1, trigger: "scheduled", status: "missed", reason: `missed; missed-run policy ${job.missed.policy}` }, nowMs);
          }
          later.push(
            ev("cron:slot:missed", job.ref, {
              count: plan.missed.count,
              atLeast: plan.missed.atLeast,
              first: ms(plan.missed.firstMs),
              last: ms(plan.missed.lastMs),
              policy: job.missed.policy,
              running: plan.run.filter((r) => r.catchUp).length,
            }),
          );
        }
        if (plan.cursorMs !== cursorMs) this.#repo.setCursor(job.ref, plan.cursorMs);
        wakeMs = min(wakeMs, plan.nextWakeMs);
      }
    });
    this.#recovered = true;
    for (const e of later) this.#o.events.emit(e);
    for (const run of this.#repo.withStatus(["pending"])) {
      if (this.#active.has(run.id)) continue;
      const job = jobs.get(jobKey(run.ref))?.job;
      if (!job) {
        this.#repo.close(run.id, ["pending"], "skipped", "the cron job no longer exists", nowMs);
      } else if ((run.notBeforeMs ?? 0) <= nowMs) {
        launches.push({ run, job });
      } else {
        wakeMs = min(wakeMs, run.notBeforeMs ?? undefined);
      }
    }
    for (const { run, job } of launches) this.#launch(run, job);
    this.#arm(wakeMs);
    return wakeMs;
  }

  /** First pass after start: settles what a crashed process left. Runs inside the pass's tx. */
  #recover(nowMs: number, later: EventInput[]): Map<string, CronRunRow[]> {
    for (const run of this.#repo.withStatus(["running"])) {
      const reason = "interrupted: the daemon stopped during the run; not re-run because it may have had effects";
      if (!this.#repo.close(run.id, ["running"], "interrupted", reason, nowMs)) continue;
      later.push(ev("cron:run:failed", run.ref, { runId: run.id, slot: ms(run.slotMs), attempt: run.attempt, exitCode: null, reason, willRetry: false }));
    }
    const abandoned = new Map<string, CronRunRow[]>();
    for (const run of this.#repo.withStatus(["claimed"])) {
      if (!this.#repo.close(run.id, ["claimed"], "abandoned", "claimed, then the daemon stopped before it started", nowMs)) continue;
      later.push(ev("cron:run:abandoned", run.ref, { runId: run.id, slot: ms(run.slotMs) }));
      const key = jobKey(run.ref);
      abandoned.set(key, [...(abandoned.get(key) ?? []), run]);
    }
    return abandoned;
  }

  /** Reads the job list, re-validating settings only when they changed. */
  #load(): Map<string, Loaded> {
    const out = new Map<string, Loaded>();
    for (const row of this.#repo.listJobs()) {
      const key = jobKey(row.ref);
      const json = JSON.stringify(row.settings);
      let hit = this.#cache.get(key);
      if (!hit || hit.json !== json) {
        try {
          const job = resolveCronJob({ ...(row.settings as CronJobInput), ref: row.ref });
          hit = { json, job, schedule: parseSchedule(job.schedule, job.timezone, key) };
          this.#cache.set(key, hit);
        } catch {
          continue; // syncJobs validates on the way in; a bad row is skipped, not fatal
        }
      }
      out.set(key, { job: hit.job, schedule: hit.schedule, cursorMs: row.cursorMs });
    }
    return out;
  }

  #arm(wakeMs: number | undefined): void {
    clearTimeout(this.#timer);
    if (this.#state !== "running") return;
    const maxSleepMs = this.#o.maxSleepMs ?? 30_000;
    const delayMs = wakeMs === undefined ? maxSleepMs : Math.min(maxSleepMs, Math.max(0, wakeMs - this.#o.clock.now()));
    this.#timer = setTimeout(() => this.tick(), delayMs);
  }

  /** Applies the concurrency policy synchronously (so two launches see each other), then runs. */
  #launch(run: CronRunRow, job: CronJob): void {
    const key = jobKey(job.ref);
    const others = [...this.#active.values()].filter((a) => a.key === key);
    const decision = decideOverlap(job.concurrency, job.maxConcurrent, others.map((a) => a.id));
    // Owed runs (catch-up, retries, manual) wait for their turn instead of being skipped or
    // replacing anything; the next pass after a run ends starts them.
    if (run.status === "pending" && decision.kind !== "start") return;
    if (decision.kind === "skip") {
      if (this.#repo.close(run.id, ["claimed", "pending"], "skipped", decision.reason, this.#o.clock.now())) {
        this.#o.events.emit(ev("cron:run:skipped", job.ref, { runId: run.id, slot: ms(run.slotMs), reason: decision.reason }));
      }
      return;
    }
    const replaced = decision.kind === "replace" ? others : [];
    for (const old of replaced) {
      old.replacedBy = run.id;
      old.controller.abort(new Error(`replaced by ${run.id}`));
      this.#o.events.emit(ev("cron:run:replaced", job.ref, { runId: old.id, slot: ms(run.slotMs), byRunId: run.id }));
    }
    const entry: ActiveRun = { id: run.id, key, controller: new AbortController(), promise: Promise.resolve() };
    this.#active.set(run.id, entry);
    entry.promise = (async () => {
      await Promise.allSettled(replaced.map((a) => a.promise));
      await this.#execute(run, job, entry);
    })()
      .catch((e: unknown) => this.#o.events.emit(ev("engine:warning", job.ref, { message: `cron run ${run.id}: ${(e as Error).message}` })))
      .finally(() => {
        this.#active.delete(run.id);
        this.wake();
      });
  }

  async #execute(run: CronRunRow, job: CronJob, entry: ActiveRun): Promise<void> {
    const { clock, events } = this.#o;
    const startMs = clock.now();
    if (this.#state !== "running" || !this.#repo.start(run.id, startMs)) return;
    const dueMs = run.trigger === "scheduled" ? run.slotMs : (run.notBeforeMs ?? run.slotMs);
    events.emit(ev("cron:run:started", job.ref, { runId: run.id, slot: ms(run.slotMs), trigger: run.trigger, attempt: run.attempt, latenessMs: startMs - dueMs }));
    const tail = new LogTail();
    let ownTimeout = false;
    const timer = setTimeout(() => {
      ownTimeout = true;
      entry.controller.abort(new Error("timed out"));
    }, job.timeoutMs);
    let result: TaskResult | Error;
    try {
      const target = await this.#o.resolveTask(job);
      const signal = AbortSignal.any([entry.controller.signal, this.#stop.signal]);
      result = await this.#o.runner(taskSpec(job, run, target, (line) => tail.push(line)), signal);
    } catch (e) {
      result = e instanceof Error ? e : new Error(String(e));
    } finally {
      clearTimeout(timer);
    }
    const outcome = classify(result, { replacedBy: entry.replacedBy, stopping: this.#stop.signal.aborted, timedOut: ownTimeout });
    const endMs = clock.now();
    const retries = this.#repo.retriesOf(job.ref, run.origin, run.slotMs);
    const willRetry = (outcome.status === "failed" || outcome.status === "timed-out") && retries < job.retry.maxRetries && this.#state === "running";
    const delayMs = willRetry ? retryDelayMs(job.retry, retries + 1, (this.#o.random ?? Math.random)()) : 0;
    this.#repo.tx(() => {
      this.#repo.finish(run.id, { ...outcome, logExcerpt: tail.text(), logPath: null }, endMs);
      if (willRetry) {
        this.#repo.insert({ ref: job.ref, origin: run.origin, slotMs: run.slotMs, attempt: run.attempt + 1, trigger: "retry", status: "pending", notBeforeMs: endMs + delayMs }, endMs);
      }
    });
    const base = { runId: run.id, slot: ms(run.slotMs), attempt: run.attempt };
    if (outcome.status === "succeeded") events.emit(ev("cron:run:succeeded", job.ref, { ...base, ms: endMs - startMs }));
    else if (outcome.status === "timed-out") events.emit(ev("cron:run:timeout", job.ref, { ...base, timeoutMs: job.timeoutMs, willRetry }));
    else if (outcome.status !== "replaced") events.emit(ev("cron:run:failed", job.ref, { ...base, exitCode: outcome.exitCode, reason: outcome.reason ?? "failed", willRetry }));
    if (willRetry) events.emit(ev("cron:run:retry", job.ref, { ...base, attempt: run.attempt + 1, delayMs }));
  }
}

function ev<T extends EventType>(type: T, ref: ServiceRef, data: EventInput<T>["data"]): EventInput<T> {
  return { type, scope: { project: ref.project, environment: ref.environment, service: ref.service }, actor: "cron", data };
}

function min(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
