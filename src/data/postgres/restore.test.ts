import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { BackupRecord } from "../provider.ts";
import { pickDrillPoint } from "./drill.ts";
import { planRestore } from "./restore.ts";
import type { VerificationPoint } from "./store.ts";

const base = (id: string, finishedAt: string, verified = true): BackupRecord => ({ id, kind: "base", resource: "db", startedAt: finishedAt, finishedAt, sizeBytes: 1, path: `/s/${id}`, verified });
const backups = [base("b1", "2026-01-01T02:00:00.000Z"), base("b2", "2026-01-02T02:00:00.000Z"), base("bad", "2026-01-02T03:00:00.000Z", false)];
const point = (name: string, at: string): VerificationPoint => ({ name, at, lsn: "0/1", tables: {} });
const now = Date.parse("2026-01-03T00:00:00Z");

describe("planRestore", () => {
  test("a time target starts from the newest verified backup finished before it", () => {
    const p = planRestore({ kind: "time", at: "2026-01-02T12:00:00Z" }, backups, [], now);
    assert.ok(!("error" in p));
    assert.equal(p.backup.id, "b2");
    assert.deepEqual(p.stop, { kind: "time", at: "2026-01-02T12:00:00.000Z" });
  });

  test("targets before the first backup, in the future or unparsable are refused with a reason", () => {
    assert.match((planRestore({ kind: "time", at: "2025-12-31T00:00:00Z" }, backups, [], now) as { error: string }).error, /before the earliest backup/);
    assert.match((planRestore({ kind: "time", at: "2026-02-01T00:00:00Z" }, backups, [], now) as { error: string }).error, /future/);
    assert.match((planRestore({ kind: "time", at: "yesterday" }, backups, [], now) as { error: string }).error, /ISO 8601/);
    assert.match((planRestore({ kind: "latest" }, [], [], now) as { error: string }).error, /no verified base backup/);
  });

  test("a backup target stops as soon as the backup is consistent; unverified backups are never used", () => {
    assert.deepEqual((planRestore({ kind: "backup", backup: "b1" }, backups, [], now) as { stop: unknown }).stop, { kind: "immediate" });
    assert.ok("error" in planRestore({ kind: "backup", backup: "bad" }, backups, [], now));
  });

  test("a point target uses the named restore point", () => {
    const p = planRestore({ kind: "point", name: "p1" }, backups, [point("p1", "2026-01-01T05:00:00Z")], now);
    assert.ok(!("error" in p));
    assert.equal(p.backup.id, "b1");
    assert.deepEqual(p.stop, { kind: "point", name: "p1" });
  });
});

describe("pickDrillPoint", () => {
  const points = [point("old", "2026-01-01T01:00:00Z"), point("a", "2026-01-02T10:00:00Z"), point("b", "2026-01-02T20:00:00Z")];
  test("only recent points after the first verified backup are candidates, chosen by the random source", () => {
    assert.equal(pickDrillPoint(points, backups, now, 86_400_000, () => 0)?.name, "a");
    assert.equal(pickDrillPoint(points, backups, now, 86_400_000, () => 0.99)?.name, "b");
    assert.equal(pickDrillPoint(points, backups, now, 3_600_000, () => 0), undefined);
    assert.equal(pickDrillPoint(points, [], now, 86_400_000, () => 0), undefined);
  });
});
