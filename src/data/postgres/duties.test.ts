import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DEFAULT_INTERVALS, planDuties } from "./duties.ts";

const now = Date.parse("2026-01-02T12:00:00Z");
describe("planDuties", () => {
  test("a new server: check the archive, take the first backup, prune, record a point; no drill yet", () => {
    assert.deepEqual(planDuties({ lastBackupAt: undefined, lastPointAt: undefined, lastDrillAt: undefined }, DEFAULT_INTERVALS, now), ["check-archive", "backup", "prune", "point"]);
  });
  test("everything recent: only the archive check", () => {
    const at = "2026-01-02T11:30:00Z";
    assert.deepEqual(planDuties({ lastBackupAt: at, lastPointAt: at, lastDrillAt: at }, DEFAULT_INTERVALS, now), ["check-archive"]);
  });
  test("a day after the last drill and backup: backup, prune, point and drill", () => {
    const at = "2026-01-01T11:00:00Z";
    assert.deepEqual(planDuties({ lastBackupAt: at, lastPointAt: at, lastDrillAt: at }, DEFAULT_INTERVALS, now), ["check-archive", "backup", "prune", "point", "drill"]);
  });
});
