import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { MissedPolicy } from "./job.ts";
import { ENUMERATE_LIMIT, type PlanInput, planSlots, RECORD_MISSED_MAX } from "./plan.ts";
import { parseSchedule } from "./schedule.ts";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString().slice(11, 19);
const every15 = parseSchedule("*/15 * * * *");

function plan(over: Partial<PlanInput> & { policy?: MissedPolicy; maxRuns?: number }) {
  const p = planSlots({
    schedule: every15,
    missed: { policy: over.policy ?? "run-once", maxRuns: over.maxRuns ?? 10 },
    graceMs: 60_000,
    cursorMs: at("2026-01-01T10:00:00Z"),
    nowMs: at("2026-01-01T10:00:00Z"),
    ...over,
  });
  return {
    run: p.run.map((r) => `${iso(r.slotMs)}${r.catchUp ? " late" : ""}`),
    missed: p.missed && { count: p.missed.count, atLeast: p.missed.atLeast, slots: p.missed.slotsMs.map(iso), first: iso(p.missed.firstMs), last: iso(p.missed.lastMs) },
    cursor: iso(p.cursorMs),
    next: p.nextWakeMs === undefined ? undefined : iso(p.nextWakeMs),
  };
}

describe("planSlots: normal operation", () => {
  test("a job never planned owes nothing: the cursor starts at now", () => {
    assert.deepEqual(plan({ cursorMs: undefined, nowMs: at("2026-01-01T10:07:00Z") }), { run: [], missed: undefined, cursor: "10:07:00", next: "10:15:00" });
  });

  test("before the next slot nothing is due and the wake-up is that slot", () => {
    assert.deepEqual(plan({ nowMs: at("2026-01-01T10:14:59.999Z") }), { run: [], missed: undefined, cursor: "10:00:00", next: "10:15:00" });
  });

  test("a slot reached on time runs once and moves the cursor", () => {
    assert.deepEqual(plan({ nowMs: at("2026-01-01T10:15:00.004Z") }), { run: ["10:15:00"], missed: undefined, cursor: "10:15:00", next: "10:30:00" });
  });

  test("planning again at the same time after the cursor moved runs nothing more", () => {
    assert.deepEqual(plan({ cursorMs: at("2026-01-01T10:15:00Z"), nowMs: at("2026-01-01T10:15:00.500Z") }).run, []);
  });

  test("a slot reached just inside the grace period still runs on time", () => {
    assert.deepEqual(plan({ nowMs: at("2026-01-01T10:16:00Z") }).run, ["10:15:00"]);
  });
});

describe("planSlots: slots missed while down (10:15, 10:30, 10:45, 11:00 passed; now 11:07)", () => {
  const nowMs = at("2026-01-01T11:07:00Z");

  test("skip: runs none, records all four as missed", () => {
    assert.deepEqual(plan({ nowMs, policy: "skip" }), {
      run: [],
      missed: { count: 4, atLeast: false, slots: ["10:15:00", "10:30:00", "10:45:00", "11:00:00"], first: "10:15:00", last: "11:00:00" },
      cursor: "11:00:00",
      next: "11:15:00",
    });
  });

  test("run-once: runs the newest late slot, records the other three", () => {
    const p = plan({ nowMs, policy: "run-once" });
    assert.deepEqual(p.run, ["11:00:00 late"]);
    assert.deepEqual(p.missed, { count: 3, atLeast: false, slots: ["10:15:00", "10:30:00", "10:45:00"], first: "10:15:00", last: "10:45:00" });
  });

  test("run-all: runs every late slot, oldest first", () => {
    const p = plan({ nowMs, policy: "run-all" });
    assert.deepEqual(p.run, ["10:15:00 late", "10:30:00 late", "10:45:00 late", "11:00:00 late"]);
    assert.equal(p.missed, undefined);
  });

  test("run-all is capped at maxRuns, newest first kept", () => {
    const p = plan({ nowMs, policy: "run-all", maxRuns: 2 });
    assert.deepEqual(p.run, ["10:45:00 late", "11:00:00 late"]);
    assert.deepEqual(p.missed, { count: 2, atLeast: false, slots: ["10:15:00", "10:30:00"], first: "10:15:00", last: "10:30:00" });
  });
});

describe("planSlots: back up exactly at a slot (now 11:00:00.020)", () => {
  const nowMs = at("2026-01-01T11:00:00.020Z");

  test("run-once: the on-time slot is the one run, the late ones are missed", () => {
    const p = plan({ nowMs, policy: "run-once" });
    assert.deepEqual(p.run, ["11:00:00"]);
    assert.equal(p.missed?.count, 3);
  });

  test("run-all: late slots then the on-time one", () => {
    assert.deepEqual(plan({ nowMs, policy: "run-all" }).run, ["10:15:00 late", "10:30:00 late", "10:45:00 late", "11:00:00"]);
  });

  test("skip: the on-time slot runs, the late ones do not", () => {
    const p = plan({ nowMs, policy: "skip" });
    assert.deepEqual(p.run, ["11:00:00"]);
    assert.equal(p.missed?.count, 3);
  });
});

describe("planSlots: abandoned claims (claimed 10:15, crashed before start, back at 10:16:30)", () => {
  const base = { cursorMs: at("2026-01-01T10:15:00Z"), nowMs: at("2026-01-01T10:16:30Z"), abandonedMs: [at("2026-01-01T10:15:00Z")] };

  test("run-once runs the abandoned slot once", () => {
    assert.deepEqual(plan({ ...base, policy: "run-once" }).run, ["10:15:00 late"]);
  });

  test("skip records it as missed", () => {
    const p = plan({ ...base, policy: "skip" });
    assert.deepEqual(p.run, []);
    assert.deepEqual(p.missed, { count: 1, atLeast: false, slots: ["10:15:00"], first: "10:15:00", last: "10:15:00" });
  });

  test("run-all runs it along with the slots missed while down", () => {
    assert.deepEqual(plan({ ...base, nowMs: at("2026-01-01T10:46:00Z"), policy: "run-all" }).run, ["10:15:00 late", "10:30:00 late", "10:45:00"]);
  });
});

describe("planSlots: long downtime and time zones", () => {
  test("a per-second job down for a day is counted as at least the limit and plans quickly", () => {
    const schedule = parseSchedule("* * * * * *");
    const p = planSlots({
      schedule,
      missed: { policy: "run-all", maxRuns: 3 },
      graceMs: 1000,
      cursorMs: at("2026-01-01T00:00:00Z"),
      nowMs: at("2026-01-02T00:00:00.500Z"),
    });
    // three catch-up runs (the cap) plus the slot that is on time
    assert.deepEqual(p.run.map((r) => iso(r.slotMs)), ["23:59:57", "23:59:58", "23:59:59", "00:00:00"]);
    assert.equal(p.run.at(-1)?.catchUp, false);
    assert.ok(p.missed?.atLeast);
    assert.ok((p.missed?.count ?? 0) >= ENUMERATE_LIMIT - 4); // minus the on-time slot and the three that run
    assert.equal(p.cursorMs, at("2026-01-02T00:00:00Z"));
    assert.equal(p.missed?.firstMs, at("2026-01-01T00:00:01Z"), "the true first missed slot, though only the newest are listed");
    assert.equal(p.missed?.slotsMs.length, RECORD_MISSED_MAX);
  });

  test("down over the Zurich spring-forward night: a 02:30 job owes three slots, one per day", () => {
    const p = planSlots({
      schedule: parseSchedule("30 2 * * *", "Europe/Zurich"),
      missed: { policy: "run-all", maxRuns: 10 },
      graceMs: 60_000,
      cursorMs: at("2026-03-28T01:30:00Z"),
      nowMs: at("2026-03-31T12:00:00Z"),
    });
    assert.deepEqual(p.run.map((r) => new Date(r.slotMs).toISOString()), ["2026-03-29T01:00:00.000Z", "2026-03-30T00:30:00.000Z", "2026-03-31T00:30:00.000Z"]);
    assert.equal(p.nextWakeMs, at("2026-04-01T00:30:00Z"));
  });

  test("down over the New York fall-back night: an every-30-minutes job owes both 01:00 and 01:30 twice", () => {
    const p = planSlots({
      schedule: parseSchedule("*/30 1 * * *", "America/New_York"),
      missed: { policy: "skip", maxRuns: 10 },
      graceMs: 60_000,
      cursorMs: at("2026-11-01T04:00:00Z"),
      nowMs: at("2026-11-01T08:00:00Z"),
    });
    assert.equal(p.missed?.count, 4);
    assert.deepEqual(p.missed?.slotsMs.map((t) => new Date(t).toISOString().slice(11, 16)), ["05:00", "05:30", "06:00", "06:30"]);
  });
});
