/**
 * Seed 000 (trip playlists): `parse-trip --share` hourly and `reminder-dispatch --upcoming` every
 * 15 minutes, with concurrency caps and retries with backoff — from the seed's example stack
 * (examples/trip-playlists/berth.yaml, production), through `syncJobs`, over two simulated hours
 * (time as data, a fake runner standing in for the engine).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseBlueprint, resolveEnvironment } from "../blueprint/index.ts";
import { ManualClock } from "../core/clock.ts";
import type { TaskResult, TaskSpec } from "../engine/engine.ts";
import { openDb } from "../store/db.ts";
import { listJobs, listRuns, syncJobs } from "./api.ts";
import { cronJobsFromBlueprint } from "./from-blueprint.ts";
import { CronScheduler } from "./scheduler.ts";
import { fixtureResolver } from "./testing/fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-cron-seed000-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const EXAMPLE = fileURLToPath(new URL("../../examples/trip-playlists/berth.yaml", import.meta.url));

test("seed 000's two cron jobs run on schedule with their concurrency caps and retries", async () => {
  const parsed = parseBlueprint(readFileSync(EXAMPLE, "utf8"), { file: EXAMPLE });
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.errors.map((e) => e.message).join("; "));
  const env = { project: "trip-playlists", environment: "production" };
  const blueprint = resolveEnvironment(parsed.blueprint, env.environment);
  const db = openDb(join(dir, "berth.db"));
  const T0 = Date.parse("2026-06-01T08:00:00Z");
  const clock = new ManualClock(T0);
  syncJobs(db, env, cronJobsFromBlueprint(env, blueprint), T0);
  assert.deepEqual(listJobs(db, env, T0).map((j) => [j.job.ref.service, j.job.concurrency, j.job.maxConcurrent, j.nextRunAt]), [
    ["parse-trip", "forbid", 1, "2026-06-01T09:00:00.000Z"],
    ["reminder-dispatch", "allow", 2, "2026-06-01T08:15:00.000Z"],
  ]);

  // reminder-dispatch runs take 40 simulated minutes (longer than their interval, to hit the cap;
  // timeouts run on real time, so the 10m timeout does not fire here); parse-trip fails once.
  const open: { spec: TaskSpec; end: (r: TaskResult) => void; until: number }[] = [];
  let parseFailures = 0;
  const runner = (spec: TaskSpec, signal: AbortSignal) =>
    new Promise<TaskResult>((resolve) => {
      const ok = (exitCode: number): TaskResult => ({ exitCode, signal: null, timedOut: false, oom: false, durationMs: 1 });
      signal.addEventListener("abort", () => resolve({ ...ok(143), exitCode: null, signal: "SIGTERM" }), { once: true });
      if (spec.command.includes("parse-trip")) return resolve(ok(parseFailures++ === 0 ? 1 : 0));
      open.push({ spec, end: resolve, until: clock.now() + 40 * 60_000 });
    });
  const scheduler = new CronScheduler({ db, clock, runner, resolveTask: fixtureResolver(), events: { emit() {} }, random: () => 0, maxSleepMs: 3_600_000 });
  scheduler.start();
  let peak = 0;
  for (let t = T0; t <= T0 + 2 * 3_600_000; t += 60_000) {
    clock.set(t);
    for (const o of open.filter((x) => x.until <= t)) {
      open.splice(open.indexOf(o), 1);
      o.end({ exitCode: 0, signal: null, timedOut: false, oom: false, durationMs: 1 });
    }
    await new Promise((r) => setTimeout(r, 2)); // let ended runs record themselves
    scheduler.tick();
    await new Promise((r) => setTimeout(r, 2)); // let started runs reach the runner
    peak = Math.max(peak, open.length);
  }
  for (const o of open) o.end({ exitCode: 0, signal: null, timedOut: false, oom: false, durationMs: 1 });
  await scheduler.stop({ drainTimeoutMs: 0 });

  const hm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
  const parse = listRuns(db, { ...env, service: "parse-trip" }).reverse();
  assert.deepEqual(parse.map((r) => [hm(r.slotMs), r.trigger, r.status]), [
    ["09:00", "scheduled", "failed"],
    ["09:00", "retry", "succeeded"],
    ["10:00", "scheduled", "succeeded"],
  ]);
  const reminders = listRuns(db, { ...env, service: "reminder-dispatch" }).reverse();
  assert.equal(peak, 2, "never more than maxConcurrent reminder-dispatch runs at once");
  assert.equal(reminders.length, 8, "one row per 15-minute slot from 08:15 to 10:00");
  assert.ok(reminders.some((r) => r.status === "skipped" && /maxConcurrent is 2/.test(r.reason ?? "")));
  db.close();
});
