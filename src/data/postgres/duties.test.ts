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

describe("planDuties honours the blueprint's backup settings", () => {
  const none = { lastBackupAt: undefined, lastPointAt: undefined, lastDrillAt: undefined };
  test("backups: false takes no backup, prunes nothing, drills nothing", () => {
    assert.deepEqual(planDuties(none, { ...DEFAULT_INTERVALS, backups: false }, now), ["check-archive"]);
  });
  test("pitr: false has no archive to check and records no restore points", () => {
    assert.deepEqual(planDuties(none, { ...DEFAULT_INTERVALS, pitr: false }, now), ["backup", "prune"]);
    assert.deepEqual(planDuties(none, { ...DEFAULT_INTERVALS, pitr: false, backups: false }, now), []);
  });
  test("a schedule (cron, UTC) makes a backup due once a scheduled time passed since the last one", () => {
    const iv = { ...DEFAULT_INTERVALS, backupSchedule: "0 3 * * *" };
    const h = (lastBackupAt: string) => ({ lastBackupAt, lastPointAt: "2026-01-02T11:59:00Z", lastDrillAt: "2026-01-02T11:59:00Z" });
    // Last backup yesterday 03:00, now 12:00: today's 03:00 passed.
    assert.deepEqual(planDuties(h("2026-01-01T03:00:05Z"), iv, now), ["check-archive", "backup", "prune"]);
    // Last backup today 03:00: the next is tomorrow 03:00, although 9 hours is less than the default day too.
    assert.deepEqual(planDuties(h("2026-01-02T03:00:05Z"), iv, now), ["check-archive"]);
    // Hourly: due although far less than a day passed.
    assert.deepEqual(planDuties(h("2026-01-02T10:30:00Z"), { ...DEFAULT_INTERVALS, backupSchedule: "0 * * * *" }, now), ["check-archive", "backup", "prune"]);
  });
});
