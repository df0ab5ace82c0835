/** The scheduler against the Engine seam (the in-memory engine): runTask satisfies TaskRunner. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ManualClock } from "../core/clock.ts";
import { MemoryEngine } from "../engine/memory/memory-engine.ts";
import { openDb } from "../store/db.ts";
import { listRuns, syncJobs } from "./api.ts";
import { CronScheduler } from "./scheduler.ts";
import { fixtureResolver } from "./testing/fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-cron-seam-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("runs go through Engine.runTask with the release env plus BERTH_RUN_ID and BERTH_SCHEDULED_AT", async () => {
  const db = openDb(join(dir, "berth.db"));
  const env = { project: "trips", environment: "production" };
  const ref = { ...env, service: "parse-trip" };
  const T0 = Date.parse("2026-01-01T10:00:00Z");
  const clock = new ManualClock(T0);
  const engine = new MemoryEngine({
    events: { emit() {} },
    openEnv: async () => ({ DATABASE_URL: "postgres://db" }),
    task: async (spec, { env: taskEnv, log }) => {
      log(`run ${taskEnv.BERTH_RUN_ID} for ${taskEnv.BERTH_SCHEDULED_AT}`);
      return { exitCode: spec.command.includes("fail") ? 1 : 0 };
    },
  });
  await engine.start();
  syncJobs(db, env, [{ ref, schedule: "@hourly", command: "parse-trip --share" }], T0);
  const scheduler = new CronScheduler({ db, clock, runner: (spec, signal) => engine.runTask(spec, signal), resolveTask: fixtureResolver(), events: { emit() {} } });
  scheduler.start();
  clock.set(T0 + 3_600_000 + 10);
  scheduler.tick();
  await new Promise((r) => setTimeout(r, 5));
  await scheduler.settled();
  await scheduler.stop();
  await engine.stop({ stopInstances: true });

  const [run] = listRuns(db, ref);
  assert.equal(run?.status, "succeeded");
  const [task] = engine.tasks();
  assert.equal(task?.spec.kind, "cron");
  assert.equal(task?.env.DATABASE_URL, "postgres://db");
  assert.equal(task?.env.BERTH_RUN_ID, run?.id);
  assert.equal(task?.env.BERTH_SCHEDULED_AT, "2026-01-01T11:00:00.000Z");
  assert.equal(run?.logExcerpt, `run ${run?.id} for 2026-01-01T11:00:00.000Z`);
  db.close();
});
