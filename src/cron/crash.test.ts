/**
 * kill -9 of a process running the scheduler (its own SQLite file), during a run and between
 * claim and start: no slot runs twice, and missed slots follow the job's policy.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { openDb } from "../store/db.ts";
import { type CronRunRow, listRuns, syncJobs } from "./api.ts";
import type { CronJobInput } from "./job.ts";
import { jobCommand, readJobLog } from "./testing/job-script.ts";

const CHILD = join(dirname(fileURLToPath(import.meta.url)), "testing", "scheduler-child.ts");
const root = mkdtempSync(join(tmpdir(), "berth-cron-crash-"));
const children = new Set<ChildProcess>();
const orphans = new Set<number>();
after(() => {
  for (const c of children) c.kill("SIGKILL");
  for (const pid of orphans) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  rmSync(root, { recursive: true, force: true });
});

const ref = { project: "p", environment: "e", service: "job" };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setup(name: string, job: Omit<CronJobInput, "ref" | "command">, jobSleepMs: number) {
  const dir = mkdtempSync(join(root, `${name}-`));
  const dbPath = join(dir, "berth.db");
  const log = join(dir, "job.log");
  const db = openDb(dbPath);
  syncJobs(db, ref, [{ ref, command: jobCommand(dir, log, jobSleepMs), ...job }]);
  db.close();
  return { dir, dbPath, log };
}

/** Starts a scheduler child; `events` collects what it prints. */
function child(dbPath: string, dir: string, env: Record<string, string> = {}) {
  const events: { type: string; data?: Record<string, unknown> }[] = [];
  const proc = spawn(process.execPath, [CHILD, dbPath, dir], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  children.add(proc);
  let buf = "";
  proc.stdout?.on("data", (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      events.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => proc.on("exit", (code, signal) => r({ code, signal })));
  void exited.then(() => children.delete(proc));
  return { proc, events, exited };
}

async function until(what: string, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function runsOf(dbPath: string): CronRunRow[] {
  const db = openDb(dbPath);
  try {
    return listRuns(db, ref, { limit: 1000 }).reverse();
  } finally {
    db.close();
  }
}

function assertNoSlotStartedTwice(log: string): void {
  const starts = readJobLog(log).filter((l) => l.e === "start");
  const slots = starts.map((l) => l.slot);
  assert.equal(new Set(slots).size, slots.length, `a slot started twice: ${slots.join(", ")}`);
}

describe("crash safety (kill -9 of the scheduler process)", () => {
  test("during a run: the run is recorded interrupted and never re-run; downtime slots follow run-all (capped)", async () => {
    const { dir, dbPath, log } = setup("during", { schedule: "* * * * * *", missed: { policy: "run-all", maxRuns: 2 }, graceMs: 300 }, 1500);
    const first = child(dbPath, dir);
    await until("a run to start", () => readJobLog(log).some((l) => l.e === "start"));
    first.proc.kill("SIGKILL");
    await first.exited;
    const killed = readJobLog(log).find((l) => l.e === "start")!;
    orphans.add(killed.pid); // the job itself outlives the scheduler, as after a real crash
    await sleep(4000); // at least three slots late: two run (the cap), the rest are missed
    const restartMs = Date.now();
    const second = child(dbPath, dir);
    // The downtime lasts until the child's scheduler has started, which on a loaded machine is
    // seconds after the spawn: the capped catch-up runs are the newest slots before that moment.
    await until("the second scheduler to start", () => second.events.some((e) => e.type === "child:ready"));
    const readyMs = Date.now();
    await until("catch-up runs to finish", () => runsOf(dbPath).filter((r) => r.status === "succeeded" && r.slotMs < readyMs).length >= 2);
    second.proc.kill("SIGTERM");
    await second.exited;

    const runs = runsOf(dbPath);
    const interrupted = runs.find((r) => r.id === killed.id);
    assert.equal(interrupted?.status, "interrupted");
    assert.equal(runs.filter((r) => r.slotMs === interrupted?.slotMs).length, 1, "the interrupted slot got no second row");
    assertNoSlotStartedTwice(log);
    const down = runs.filter((r) => r.slotMs > (interrupted?.slotMs ?? 0) && r.slotMs < restartMs - 300);
    const ranLate = down.filter((r) => r.claimedAtMs >= restartMs && r.status !== "missed");
    assert.ok(ranLate.length <= 2, `run-all is capped at 2, ${ranLate.length} ran`);
    assert.ok(down.some((r) => r.status === "missed"), "older downtime slots are recorded missed");
    assert.ok(second.events.some((e) => e.type === "cron:slot:missed"));
    assert.ok(second.events.some((e) => e.type === "cron:run:failed" && e.data?.runId === killed.id), "the interruption is reported");
  });

  test("between claim and start: the claim is abandoned and its slot runs exactly once", async () => {
    const { dir, dbPath, log } = setup("claim", { schedule: "* * * * * *", missed: { policy: "run-all", maxRuns: 5 } }, 100);
    const first = child(dbPath, dir, { CRON_CRASH_ON_CLAIM: "1" });
    const exit = await first.exited;
    assert.equal(exit.signal, "SIGKILL");
    const [claimed] = runsOf(dbPath);
    assert.equal(claimed?.status, "claimed");
    assert.equal(readJobLog(log).length, 0, "nothing started");

    const second = child(dbPath, dir);
    await until("the abandoned slot to run", () => runsOf(dbPath).some((r) => r.slotMs === claimed.slotMs && r.status === "succeeded"));
    second.proc.kill("SIGTERM");
    await second.exited;

    const sameSlot = runsOf(dbPath).filter((r) => r.slotMs === claimed.slotMs);
    assert.deepEqual(sameSlot.map((r) => [r.attempt, r.status]).sort(), [
      [1, "abandoned"],
      [2, "succeeded"],
    ]);
    const starts = readJobLog(log).filter((l) => l.slot === new Date(claimed.slotMs).toISOString() && l.e === "start");
    assert.equal(starts.length, 1);
    assert.equal(starts[0]?.attempt, 2);
    assertNoSlotStartedTwice(log);
    assert.ok(second.events.some((e) => e.type === "cron:run:abandoned"));
  });
});
