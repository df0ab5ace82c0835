/** Real time, real processes: concurrency policies against a job slower than its interval. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { systemClock } from "../core/clock.ts";
import { openDb } from "../store/db.ts";
import { listRuns, syncJobs } from "./api.ts";
import type { CronJobInput } from "./job.ts";
import { decideOverlap } from "./overlap.ts";
import { CronScheduler } from "./scheduler.ts";
import { fixtureResolver } from "./testing/fixtures.ts";
import { type JobLogLine, jobCommand, readJobLog } from "./testing/job-script.ts";
import { processRunner } from "./testing/process-runner.ts";

const root = mkdtempSync(join(tmpdir(), "berth-cron-overlap-"));
after(() => rmSync(root, { recursive: true, force: true }));

async function runFor(name: string, job: Omit<CronJobInput, "ref" | "command">, sleepMs: number, forMs: number) {
  const dir = mkdtempSync(join(root, `${name}-`));
  const db = openDb(join(dir, "berth.db"));
  const ref = { project: "p", environment: "e", service: name };
  const log = join(dir, "job.log");
  syncJobs(db, ref, [{ ref, command: jobCommand(dir, log, sleepMs), ...job }]);
  const scheduler = new CronScheduler({ db, clock: systemClock, runner: processRunner({ killAfterMs: 1000 }), resolveTask: fixtureResolver(dir), events: { emit() {} } });
  scheduler.start();
  await new Promise((r) => setTimeout(r, forMs));
  await scheduler.stop({ drainTimeoutMs: 0 });
  const runs = listRuns(db, ref, { limit: 1000 }).reverse();
  db.close();
  return { runs, lines: readJobLog(log) };
}

/** [start, end] of each run from the job's own log; an unfinished run ends at +Infinity. */
function intervals(lines: readonly JobLogLine[]): [number, number][] {
  return lines
    .filter((l) => l.e === "start")
    .map((s) => [s.t, lines.find((l) => l.id === s.id && l.e !== "start")?.t ?? Number.POSITIVE_INFINITY] as [number, number])
    .sort((a, b) => a[0] - b[0]);
}

function overlaps(spans: readonly [number, number][]): number {
  let n = 0;
  for (let i = 1; i < spans.length; i++) if (spans[i]![0] < spans[i - 1]![1]) n++;
  return n;
}

describe("concurrency policies (real processes)", () => {
  test("decideOverlap is pure: forbid skips, allow caps, replace stops the old", () => {
    assert.deepEqual(decideOverlap("forbid", 1, []), { kind: "start" });
    assert.equal(decideOverlap("forbid", 1, ["a"]).kind, "skip");
    assert.deepEqual(decideOverlap("allow", 2, ["a"]), { kind: "start" });
    assert.equal(decideOverlap("allow", 2, ["a", "b"]).kind, "skip");
    assert.deepEqual(decideOverlap("replace", 1, ["a"]), { kind: "replace", runIds: ["a"] });
  });

  test("forbid: a 2.5 s job every second never overlaps; the slots in between are skipped", async () => {
    const { runs, lines } = await runFor("forbid", { schedule: "* * * * * *", concurrency: "forbid" }, 2500, 6500);
    assert.equal(overlaps(intervals(lines)), 0);
    assert.ok(runs.filter((r) => r.status === "succeeded").length >= 1);
    const skipped = runs.filter((r) => r.status === "skipped");
    assert.ok(skipped.length >= 2, `expected skipped slots, got ${runs.map((r) => r.status).join(",")}`);
    for (const r of skipped) assert.match(r.reason ?? "", /still running \(concurrency: forbid\)/);
  });

  test("replace: a 10 s job every 2 s is stopped when the next slot starts", async () => {
    const { runs, lines } = await runFor("replace", { schedule: "*/2 * * * * *", concurrency: "replace" }, 10_000, 5000);
    const replaced = runs.filter((r) => r.status === "replaced");
    assert.ok(replaced.length >= 1, `expected a replaced run, got ${runs.map((r) => r.status).join(",")}`);
    for (const r of replaced) assert.ok(lines.some((l) => l.id === r.id && l.e === "stop"), "the old process got SIGTERM and stopped");
    assert.equal(overlaps(intervals(lines)), 0, "the new run starts only after the old one stopped");
    assert.equal(lines.filter((l) => l.e === "end").length, 0, "no replaced run went on to finish");
  });
});
