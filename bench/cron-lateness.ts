/**
 * Cron lateness: a job every second for 60 s (override with BENCH_SECONDS) on real processes and
 * a real SQLite store. Lateness = when the run started (claim -> running) minus its slot, and
 * when the job's process wrote its first line minus its slot. Goal: p99 <= 1 s.
 * Runs go through the local engine's runTask (BENCH_ENGINE=local, default, no sandbox) or the
 * cron tests' plain process runner (BENCH_ENGINE=process).
 *
 *   node bench/cron-lateness.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../src/core/clock.ts";
import { listRuns, syncJobs } from "../src/cron/api.ts";
import { CronScheduler } from "../src/cron/scheduler.ts";
import { fixtureResolver } from "../src/cron/testing/fixtures.ts";
import { jobCommand, quantile, readJobLog } from "../src/cron/testing/job-script.ts";
import { processRunner } from "../src/cron/testing/process-runner.ts";
import type { TaskRunner } from "../src/cron/task.ts";
import { LocalEngine } from "../src/engine/local/local-engine.ts";
import { openDb } from "../src/store/db.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 60);
const engineName = process.env.BENCH_ENGINE ?? "local";
const dir = mkdtempSync(join(tmpdir(), "berth-bench-cron-"));
let engine: LocalEngine | undefined;
try {
  let runner: TaskRunner = processRunner();
  if (engineName === "local") {
    engine = new LocalEngine({ events: { emit() {} }, openEnv: async () => ({}), stateDir: join(dir, "state"), sandbox: false });
    await engine.start();
    runner = (spec, signal) => (engine as LocalEngine).runTask(spec, signal);
  }
  const db = openDb(join(dir, "berth.db"));
  const ref = { project: "bench", environment: "production", service: "every-second" };
  const log = join(dir, "job.log");
  syncJobs(db, ref, [{ ref, schedule: "* * * * * *", command: jobCommand(dir, log, 50), graceMs: 5000 }]);
  const scheduler = new CronScheduler({ db, clock: systemClock, runner, resolveTask: fixtureResolver(dir), events: { emit() {} } });
  scheduler.start();
  await new Promise((r) => setTimeout(r, seconds * 1000 + 500));
  await scheduler.stop({ drainTimeoutMs: 2000 });
  const runs = listRuns(db, ref, { limit: 100_000 }).reverse();
  db.close();

  const slots = runs.map((r) => r.slotMs);
  const gaps = slots.slice(1).filter((s, i) => s - slots[i]! !== 1000).length;
  const starts = readJobLog(log).filter((l) => l.e === "start");
  const dupes = starts.length - new Set(starts.map((l) => l.slot)).size;
  const toStart = runs.filter((r) => r.startedAtMs !== null).map((r) => (r.startedAtMs ?? 0) - r.slotMs);
  const toProcess = starts.map((l) => l.t - Date.parse(l.slot));
  const fmt = (v: number[]) => `p50 ${quantile(v, 0.5)} ms, p99 ${quantile(v, 0.99)} ms, max ${Math.max(...v)} ms`;
  const statuses = Object.entries(Object.groupBy(runs, (r) => r.status)).map(([k, v]) => `${k} ${v?.length}`).join(", ");
  console.log(`cron lateness (${engineName} runner), job every 1 s for ${seconds} s, ${runs.length} runs (${statuses}); gaps ${gaps}, slots started twice ${dupes}`);
  console.log(`  run started (claimed -> running): ${fmt(toStart)}`);
  console.log(`  job process first line:           ${fmt(toProcess)}`);
  const p99 = quantile(toProcess, 0.99);
  console.log(`  goal p99 <= 1000 ms: ${p99 <= 1000 ? "met" : "NOT met"}`);
  if (gaps > 0 || dupes > 0) process.exitCode = 1;
} finally {
  await engine?.stop({ stopInstances: true });
  rmSync(dir, { recursive: true, force: true });
}
