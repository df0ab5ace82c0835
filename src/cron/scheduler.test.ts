import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import { ManualClock } from "../core/clock.ts";
import type { EventInput, EventSink } from "../core/events.ts";
import type { TaskResult, TaskSpec } from "../engine/engine.ts";
import { type Db, openDb } from "../store/db.ts";
import { CronRunRepository } from "../store/repositories/cron-runs.ts";
import { listJobs, listRuns, syncJobs } from "./api.ts";
import type { CronJobInput } from "./job.ts";
import { CronScheduler } from "./scheduler.ts";
import { fixtureResolver } from "./testing/fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-cron-sched-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const env = { project: "trips", environment: "production" };
const ref = { ...env, service: "reminder-dispatch" };
const T0 = Date.parse("2026-01-01T10:00:00Z");
const MIN = 60_000;

/** A runner whose tasks end when the test says so (or when aborted). */
class Runner {
  readonly calls: { spec: TaskSpec; signal: AbortSignal; end: (r: Partial<TaskResult>) => void }[] = [];
  readonly run = (spec: TaskSpec, signal: AbortSignal) =>
    new Promise<TaskResult>((resolve) => {
      const end = (r: Partial<TaskResult>) => resolve({ exitCode: 0, signal: null, timedOut: false, oom: false, durationMs: 1, ...r });
      signal.addEventListener("abort", () => end({ exitCode: null, signal: "SIGTERM" }), { once: true });
      this.calls.push({ spec, signal, end });
    });
}

class Events implements EventSink {
  readonly all: EventInput[] = [];
  emit(e: EventInput): void {
    this.all.push(e);
  }
  types(): string[] {
    return this.all.map((e) => e.type);
  }
}

async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

let db: Db;
let clock: ManualClock;
let runner: Runner;
let events: Events;
let scheduler: CronScheduler | undefined;
let n = 0;

beforeEach(() => {
  db = openDb(join(dir, `db-${n++}.sqlite`));
  clock = new ManualClock(T0);
  runner = new Runner();
  events = new Events();
});
afterEach(async () => {
  await scheduler?.stop({ drainTimeoutMs: 0 });
  scheduler = undefined;
  db.close();
});

function start(job: Partial<CronJobInput> = {}): CronScheduler {
  syncJobs(db, env, [{ ref, schedule: "*/15 * * * *", command: "dispatch --upcoming", ...job }], clock.now());
  scheduler = new CronScheduler({ db, clock, runner: runner.run, resolveTask: fixtureResolver(), events, random: () => 0, maxSleepMs: 60_000 });
  scheduler.start();
  return scheduler;
}
const runs = () => listRuns(db, ref, { limit: 100 }).reverse();
const at = (m: number) => T0 + m * MIN;

describe("CronScheduler (time as data, fake runner)", () => {
  test("a due slot is claimed and started once, with BERTH_RUN_ID and BERTH_SCHEDULED_AT", async () => {
    const s = start();
    clock.set(at(15) + 3);
    s.tick();
    s.tick();
    await until("the run to start", () => runner.calls.length === 1);
    const call = runner.calls[0]!;
    const [run] = runs();
    assert.equal(call.spec.kind, "cron");
    assert.equal(call.spec.command, "dispatch --upcoming");
    assert.equal(call.spec.extraEnv.BERTH_RUN_ID, run?.id);
    assert.equal(call.spec.extraEnv.BERTH_SCHEDULED_AT, "2026-01-01T10:15:00.000Z");
    call.end({ exitCode: 0 });
    await s.settled();
    assert.deepEqual(runs().map((r) => [r.trigger, r.attempt, r.status]), [["scheduled", 1, "succeeded"]]);
    assert.deepEqual(events.types(), ["cron:run:claimed", "cron:run:started", "cron:run:succeeded"]);
    assert.equal(runner.calls.length, 1);
  });

  test("forbid: a slot whose predecessor still runs is recorded as skipped with a reason", async () => {
    const s = start({ concurrency: "forbid" });
    clock.set(at(15));
    s.tick();
    await until("first run", () => runner.calls.length === 1);
    clock.set(at(30));
    s.tick();
    await until("the skip", () => runs().length === 2 && runs()[1]?.status === "skipped");
    assert.match(runs()[1]?.reason ?? "", /still running \(concurrency: forbid\)/);
    assert.equal(runner.calls.length, 1);
    runner.calls[0]?.end({});
    await s.settled();
    assert.ok(events.types().includes("cron:run:skipped"));
  });

  test("allow: up to maxConcurrent run at once, the next is skipped", async () => {
    const s = start({ concurrency: "allow", maxConcurrent: 2 });
    for (const m of [15, 30, 45]) {
      clock.set(at(m));
      s.tick();
      await until(`slot ${m}`, () => runs().length === m / 15 && runs().at(-1)?.status !== "claimed");
    }
    assert.deepEqual(runs().map((r) => r.status), ["running", "running", "skipped"]);
    assert.match(runs()[2]?.reason ?? "", /maxConcurrent is 2/);
    for (const c of runner.calls) c.end({});
  });

  test("replace: the running run is stopped and the new slot starts", async () => {
    const s = start({ concurrency: "replace" });
    clock.set(at(15));
    s.tick();
    await until("first run", () => runner.calls.length === 1);
    clock.set(at(30));
    s.tick();
    await until("second run", () => runner.calls.length === 2);
    assert.ok(runner.calls[0]?.signal.aborted);
    assert.deepEqual(runs().map((r) => r.status), ["replaced", "running"]);
    runner.calls[1]?.end({});
    await s.settled();
    assert.ok(events.types().includes("cron:run:replaced"));
  });

  test("retries: a failed run is retried after an exponential delay, recorded as trigger retry", async () => {
    const s = start({ retry: { maxRetries: 2, initialDelayMs: 10_000, factor: 3, jitter: 0.5 } });
    clock.set(at(15));
    s.tick();
    await until("attempt 1", () => runner.calls.length === 1);
    runner.calls[0]?.end({ exitCode: 1 });
    await until("the retry row", () => runs().length === 2);
    assert.deepEqual(runs().map((r) => [r.attempt, r.trigger, r.status]), [[1, "scheduled", "failed"], [2, "retry", "pending"]]);
    assert.equal(runs()[1]?.notBeforeMs, at(15) + 10_000);
    s.tick();
    assert.equal(runner.calls.length, 1, "not before its delay");
    clock.advance(10_000);
    s.tick();
    await until("attempt 2", () => runner.calls.length === 2);
    assert.equal(runner.calls[1]?.spec.extraEnv.BERTH_SCHEDULED_AT, "2026-01-01T10:15:00.000Z");
    runner.calls[1]?.end({ exitCode: 2 });
    await until("attempt 3 row", () => runs().length === 3);
    assert.equal(runs()[2]?.notBeforeMs, clock.now() + 30_000, "delay grows by the factor");
    clock.advance(30_000);
    s.tick();
    await until("attempt 3", () => runner.calls.length === 3);
    runner.calls[2]?.end({ exitCode: 3 });
    await s.settled();
    assert.deepEqual(runs().map((r) => r.status), ["failed", "failed", "failed"]);
    const failed = events.all.filter((e) => e.type === "cron:run:failed").map((e) => (e.data as { willRetry: boolean }).willRetry);
    assert.deepEqual(failed, [true, true, false]);
  });

  test("timeout: a run past its timeout is stopped and reported", async () => {
    const s = start({ timeoutMs: 30 });
    clock.set(at(15));
    s.tick();
    await until("the timeout", () => runs()[0]?.status === "timed-out");
    assert.ok(events.types().includes("cron:run:timeout"));
    assert.ok(runner.calls[0]?.signal.aborted);
    void s;
  });

  test("manual trigger runs at once and is recorded as manual", async () => {
    const s = start();
    clock.set(at(3));
    const run = s.trigger(ref, "alice");
    await until("the manual run", () => runner.calls.length === 1);
    runner.calls[0]?.end({});
    await s.settled();
    assert.deepEqual(runs().map((r) => [r.id, r.origin, r.trigger, r.status]), [[run.id, "manual", "manual", "succeeded"]]);
    assert.equal(listJobs(db, env, clock.now())[0]?.nextRunAt, "2026-01-01T10:15:00.000Z");
  });

  test("after downtime, missed slots follow the policy and raise cron:slot:missed", async () => {
    const s = start({ missed: { policy: "run-once" } });
    await s.stop();
    clock.set(at(62)); // 15, 30, 45, 60 passed while stopped, all beyond the 60 s grace
    scheduler = new CronScheduler({ db, clock, runner: runner.run, resolveTask: fixtureResolver(), events, maxSleepMs: 60_000 });
    scheduler.start();
    await until("the catch-up run", () => runner.calls.length === 1);
    runner.calls[0]?.end({});
    await scheduler.settled();
    assert.deepEqual(runs().map((r) => [new Date(r.slotMs).toISOString().slice(11, 16), r.status]), [
      ["10:15", "missed"],
      ["10:30", "missed"],
      ["10:45", "missed"],
      ["11:00", "succeeded"],
    ]);
    const missed = events.all.find((e) => e.type === "cron:slot:missed");
    assert.deepEqual(missed?.data, { count: 3, atLeast: false, first: "2026-01-01T10:15:00.000Z", last: "2026-01-01T10:45:00.000Z", policy: "run-once", running: 1 });
  });

  test("run-all under forbid: catch-up runs queue and run one after another, capped", async () => {
    const s = start({ missed: { policy: "run-all", maxRuns: 3 } });
    await s.stop();
    clock.set(at(62));
    scheduler = new CronScheduler({ db, clock, runner: runner.run, resolveTask: fixtureResolver(), events, maxSleepMs: 60_000 });
    scheduler.start();
    for (let i = 1; i <= 3; i++) {
      await until(`catch-up ${i}`, () => runner.calls.length === i);
      assert.equal(scheduler.activeRuns().length, 1, "never two at once under forbid");
      runner.calls[i - 1]?.end({});
    }
    await scheduler.settled();
    assert.deepEqual(runs().map((r) => [new Date(r.slotMs).toISOString().slice(11, 16), r.status]), [
      ["10:15", "missed"],
      ["10:30", "succeeded"],
      ["10:45", "succeeded"],
      ["11:00", "succeeded"],
    ]);
  });

  test("recovery: a claimed-never-started slot is abandoned and re-run once; a running one is not re-run", async () => {
    syncJobs(db, env, [{ ref, schedule: "*/15 * * * *", command: "x", missed: { policy: "run-once" } }], T0);
    const repo = new CronRunRepository(db);
    repo.setCursor(ref, at(30));
    const interrupted = repo.insert({ ref, origin: "scheduled", slotMs: at(15), attempt: 1, trigger: "scheduled", status: "claimed" }, at(15));
    assert.ok(interrupted && repo.start(interrupted.id, at(15)));
    repo.insert({ ref, origin: "scheduled", slotMs: at(30), attempt: 1, trigger: "scheduled", status: "claimed" }, at(30));
    clock.set(at(30) + 5000);
    scheduler = new CronScheduler({ db, clock, runner: runner.run, resolveTask: fixtureResolver(), events, maxSleepMs: 60_000 });
    scheduler.start();
    await until("the re-run", () => runner.calls.length === 1);
    runner.calls[0]?.end({});
    await scheduler.settled();
    assert.deepEqual(runs().map((r) => [new Date(r.slotMs).toISOString().slice(11, 16), r.attempt, r.status]), [
      ["10:15", 1, "interrupted"],
      ["10:30", 1, "abandoned"],
      ["10:30", 2, "succeeded"],
    ]);
    assert.equal(runner.calls[0]?.spec.extraEnv.BERTH_SCHEDULED_AT, "2026-01-01T10:30:00.000Z");
    assert.ok(events.types().includes("cron:run:abandoned"));
  });
});
