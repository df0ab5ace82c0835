import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { planRetention, planStorePrune, walToRemove, widestPolicy } from "./retention.ts";

const DAY = 86_400_000;
const now = Date.UTC(2026, 2, 15, 12);
/** One nightly backup at 02:00 for the last 120 days, with increasing WAL names. */
const nightly = Array.from({ length: 120 }, (_, i) => {
  const at = Date.UTC(2026, 2, 15, 2) - i * DAY;
  return { id: `b${String(119 - i).padStart(3, "0")}`, finishedAt: new Date(at).toISOString(), startWal: `00000001000000000000${(0x100 + 119 - i).toString(16).toUpperCase().padStart(4, "0")}` };
});

describe("planRetention", () => {
  test("7 daily / 4 weekly / 12 monthly with a 7-day PITR window (seed 002)", (t) => {
    const plan = planRetention(nightly, { keep: { daily: 7, weekly: 4, monthly: 12 }, pitrWindowMs: 7 * DAY }, now);
    t.assert.snapshot(plan);
    assert.equal(plan.keep.length + plan.remove.length, nightly.length);
  });

  test("the backup anchoring the PITR window is kept even when counts would drop it", () => {
    const plan = planRetention(nightly, { keep: { daily: 1, weekly: 0, monthly: 0 }, pitrWindowMs: 7 * DAY }, now);
    const anchor = plan.keep.find((k) => k.reasons.includes("pitr window start"));
    assert.equal(anchor?.id, "b112"); // finished 03-08 02:00, the newest at or before now - 7 days
    assert.ok(Date.parse(plan.restorableFrom!) <= now - 7 * DAY);
  });

  test("no backups: nothing to keep, WAL untouched", () => {
    assert.deepEqual(planRetention([], { keep: { daily: 7, weekly: 0, monthly: 0 }, pitrWindowMs: DAY }, now), { keep: [], remove: [], walBefore: undefined, restorableFrom: undefined });
  });

  test("WAL before the oldest kept backup's start segment goes, on any timeline", () => {
    const segs = ["000000010000000000000001", "000000010000000000000002", "000000020000000000000003"];
    assert.deepEqual(walToRemove(segs, "000000010000000000000003"), ["000000010000000000000001", "000000010000000000000002"]);
    assert.deepEqual(walToRemove(segs, undefined), []);
  });
});

describe("widestPolicy", () => {
  test("a server keeps what its most demanding database asks for", () => {
    assert.deepEqual(
      widestPolicy([
        { keep: { daily: 7, weekly: 0, monthly: 0 }, pitrWindowMs: 7 * DAY },
        { keep: { daily: 3, weekly: 4, monthly: 12 }, pitrWindowMs: DAY },
      ]),
      { keep: { daily: 7, weekly: 4, monthly: 12 }, pitrWindowMs: 7 * DAY },
    );
  });
});

describe("planStorePrune: retention across the stores of every server", () => {
  const base = (id: string, finishedAt: string, startWal: string) => ({ id, kind: "base" as const, resource: "db", startedAt: finishedAt, finishedAt, sizeBytes: 1, path: `/s/${id}`, verified: true, startWal });
  const nowMs = Date.UTC(2026, 0, 20, 12);
  // A: live until Jan 15 (promoted restore to Jan 14 06:00 made B), nightly backups; B since Jan 15.
  const A = {
    meta: { instance: "A", liveFrom: "2026-01-01T00:00:00.000Z", timeline: 1, retiredAt: "2026-01-15T10:00:00.000Z" },
    backups: Array.from({ length: 14 }, (_, i) => base(`a${String(i + 1).padStart(2, "0")}`, new Date(Date.UTC(2026, 0, i + 1, 2)).toISOString(), `0000000100000000000000${(0x10 + i).toString(16).toUpperCase()}`)),
    points: [],
  };
  const B = {
    meta: { instance: "B", liveFrom: "2026-01-15T10:00:00.000Z", timeline: 2, parent: { instance: "A", branchAt: "2026-01-14T06:00:00.000Z" } },
    backups: Array.from({ length: 5 }, (_, i) => base(`b${i + 1}`, new Date(Date.UTC(2026, 0, 16 + i, 2)).toISOString(), `0000000200000000000000${(0x30 + i).toString(16).toUpperCase()}`)),
    points: [],
  };

  test("counts over all stores together; the window's start in the old store keeps its anchor and WAL", () => {
    const plan = planStorePrune([A, B], { keep: { daily: 3, weekly: 0, monthly: 0 }, pitrWindowMs: 7 * DAY }, nowMs);
    const kept = plan.keep.map((k) => k.id);
    // Newest three days are B's; Jan 13 12:00 (window start) lies in A: its backup of Jan 13 anchors it.
    assert.deepEqual(kept.slice(0, 3), ["b5", "b4", "b3"]);
    assert.ok(kept.includes("a13"), JSON.stringify(plan.keep));
    // B's stretch before its first own backup replays from A's last backup before the branch (a14); A keeps WAL from a13 on.
    assert.equal(plan.walBefore.get("A"), "00000001000000000000001C");
    assert.ok(plan.remove.some((r) => r.store === "A" && r.id === "a01"));
    assert.equal(plan.restorableFrom, "2026-01-13T02:00:00.000Z");
  });

  test("a store nothing needs any more gives up all its WAL", () => {
    const plan = planStorePrune([A, B], { keep: { daily: 2, weekly: 0, monthly: 0 }, pitrWindowMs: DAY }, nowMs);
    assert.equal(plan.walBefore.get("A"), "all");
    assert.ok(plan.remove.every((r) => r.store === "A" || !["b5", "b4"].includes(r.id)));
  });
});
