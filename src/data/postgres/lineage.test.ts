import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { BackupRecord } from "../provider.ts";
import { windowPlan } from "./drill.ts";
import { planRestore, type StoreView } from "./lineage.ts";
import type { VerificationPoint } from "./store.ts";

const base = (id: string, finishedAt: string, verified = true): BackupRecord => ({ id, kind: "base", resource: "db", startedAt: finishedAt, finishedAt, sizeBytes: 1, path: `/s/${id}`, verified, startWal: "000000010000000000000002" });
const point = (name: string, at: string): VerificationPoint => ({ name, at, lsn: "0/1", tables: {} });
const now = Date.parse("2026-01-03T00:00:00Z");
const err = (p: unknown) => (p as { error: string }).error;

/** One server, never restored. */
const single: StoreView[] = [
  {
    meta: { instance: "A", liveFrom: "2026-01-01T00:00:00.000Z", timeline: 1 },
    backups: [base("b1", "2026-01-01T02:00:00.000Z"), base("b2", "2026-01-02T02:00:00.000Z"), base("bad", "2026-01-02T03:00:00.000Z", false)],
    points: [point("p1", "2026-01-01T05:00:00.000Z")],
  },
];

/**
 * A restored at 2026-01-02T10:00 to 06:00 and promoted: B (timeline 2) is live from 10:00; its
 * first own backup finished at 10:05.
 */
const promoted: StoreView[] = [
  single[0]!,
  { meta: { instance: "B", liveFrom: "2026-01-02T10:00:00.000Z", timeline: 2, parent: { instance: "A", branchAt: "2026-01-02T06:00:00.000Z" } }, backups: [base("b3", "2026-01-02T10:05:00.000Z")], points: [] },
];

describe("planRestore on one server", () => {
  test("a time target starts from the newest verified backup finished before it", () => {
    const p = planRestore({ kind: "time", at: "2026-01-02T12:00:00Z" }, single, "A", now);
    assert.ok(!("error" in p));
    assert.equal(p.backup.id, "b2");
    assert.deepEqual(p.stop, { kind: "time", at: "2026-01-02T12:00:00.000Z" });
    assert.deepEqual(p.chain, ["A"]);
    assert.equal(p.timeline, 1);
  });

  test("targets before the first backup, in the future or unparsable are refused with a reason", () => {
    assert.match(err(planRestore({ kind: "time", at: "2026-01-01T01:00:00Z" }, single, "A", now)), /before the earliest backup \(2026-01-01T02:00:00.000Z\)/);
    assert.match(err(planRestore({ kind: "time", at: "2025-12-31T00:00:00Z" }, single, "A", now)), /before the earliest backup/);
    assert.match(err(planRestore({ kind: "time", at: "2026-02-01T00:00:00Z" }, single, "A", now)), /future/);
    assert.match(err(planRestore({ kind: "time", at: "yesterday" }, single, "A", now)), /ISO 8601/);
    assert.match(err(planRestore({ kind: "latest" }, [], undefined, now)), /no verified base backup/);
  });

  test("a backup target stops as soon as the backup is consistent; a backup that failed a check is refused", () => {
    assert.deepEqual((planRestore({ kind: "backup", backup: "b1" }, single, "A", now) as { stop: unknown }).stop, { kind: "immediate" });
    assert.match(err(planRestore({ kind: "backup", backup: "bad" }, single, "A", now)), /failed verification/);
  });

  test("a point target uses the named restore point", () => {
    const p = planRestore({ kind: "point", name: "p1" }, single, "A", now);
    assert.ok(!("error" in p));
    assert.equal(p.backup.id, "b1");
    assert.deepEqual(p.stop, { kind: "point", name: "p1" });
  });
});

describe("planRestore across promotes: one timeline", () => {
  test("a time before the promote replays the old server's history (its timeline, its store)", () => {
    const p = planRestore({ kind: "time", at: "2026-01-02T08:00:00Z" }, promoted, "B", now);
    assert.ok(!("error" in p));
    assert.equal(p.backup.id, "b2");
    assert.deepEqual(p.chain, ["A"]);
    assert.equal(p.timeline, 1, "rows written on A after the branch point are reachable");
  });

  test("a time after the promote but before the new server's first backup goes through the branch point", () => {
    const p = planRestore({ kind: "time", at: "2026-01-02T10:02:00Z" }, promoted, "B", now);
    assert.ok(!("error" in p));
    assert.equal(p.backup.id, "b2", "the old server's backup from before the branch point (06:00)");
    assert.deepEqual(p.chain, ["B", "A"]);
    assert.equal(p.timeline, 2);
  });

  test("a time after the new server's first backup uses it; latest uses the live server's", () => {
    const p = planRestore({ kind: "time", at: "2026-01-02T11:00:00Z" }, promoted, "B", now);
    assert.equal((p as { backup: BackupRecord }).backup.id, "b3");
    assert.deepEqual((p as { chain: readonly string[] }).chain, ["B"]);
    assert.equal((planRestore({ kind: "latest" }, promoted, "B", now) as { backup: BackupRecord }).backup.id, "b3");
  });

  test("a backup of the old server finished after the branch point cannot serve the new timeline", () => {
    const late: StoreView[] = [{ ...promoted[0]!, backups: [base("b1", "2026-01-01T02:00:00.000Z"), base("b-late", "2026-01-02T07:00:00.000Z")] }, { ...promoted[1]!, backups: [] }];
    const p = planRestore({ kind: "time", at: "2026-01-02T10:30:00Z" }, late, "B", now);
    assert.equal((p as { backup: BackupRecord }).backup.id, "b1");
  });

  test("the drill's window starts at the oldest backup on the line to the live server", () => {
    const w = windowPlan(promoted, "B");
    assert.equal(w?.backup.id, "b1");
    assert.deepEqual(w?.chain, ["B", "A"]);
  });
});
