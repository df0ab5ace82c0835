/**
 * Real time, real processes: a job every second for ~20 s. Each slot must run exactly once;
 * lateness (start - slot) is measured and printed, not asserted (machines differ).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { systemClock } from "../core/clock.ts";
import { openDb } from "../store/db.ts";
import { listRuns, syncJobs } from "./api.ts";
import { CronScheduler } from "./scheduler.ts";
import { fixtureResolver } from "./testing/fixtures.ts";
import { jobCommand, quantile, readJobLog } from "./testing/job-script.ts";
import { processRunner } from "./testing/process-runner.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-cron-late-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("a job every second for 20 s runs each slot exactly once; lateness p50/p99 printed", async (t) => {
  const db = openDb(join(dir, "berth.db"));
  const ref = { project: "bench", environment: "production", service: "tick" };
  const log = join(dir, "job.log");
  syncJobs(db, ref, [{ ref, schedule: "* * * * * *", command: jobCommand(dir, log, 50), graceMs: 5000 }]);
  const scheduler = new CronScheduler({ db, clock: systemClock, runner: processRunner(), resolveTask: fixtureResolver(dir), events: { emit() {} } });
  scheduler.start();
  await new Promise((r) => setTimeout(r, 20_500));
  await scheduler.stop({ drainTimeoutMs: 2000 });

  const runs = listRuns(db, ref, { limit: 1000 }).reverse();
  db.close();
  const slots = runs.map((r) => r.slotMs);
  assert.ok(runs.length >= 15, `expected ~20 runs, got ${runs.length}`);
  assert.equal(new Set(slots).size, slots.length, "no slot claimed twice");
  for (let i = 1; i < slots.length; i++) assert.equal(slots[i]! - slots[i - 1]!, 1000, "no slot silently dropped");
  assert.deepEqual([...new Set(runs.map((r) => r.status))], ["succeeded"]);
  const starts = readJobLog(log).filter((l) => l.e === "start");
  assert.equal(new Set(starts.map((l) => l.slot)).size, starts.length, "no slot started twice");
  assert.equal(starts.length, runs.length);

  const claimLate = runs.map((r) => (r.startedAtMs ?? 0) - r.slotMs);
  const processLate = starts.map((l) => l.t - Date.parse(l.slot));
  const line = (name: string, v: number[]) => `${name}: p50 ${quantile(v, 0.5)} ms, p99 ${quantile(v, 0.99)} ms, max ${Math.max(...v)} ms (n=${v.length})`;
  t.diagnostic(line("lateness to start", claimLate));
  t.diagnostic(line("lateness to the job's first line", processLate));
});
