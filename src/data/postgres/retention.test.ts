import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { planRetention, walToRemove, widestPolicy } from "./retention.ts";

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
