/**
 * The archive lag read from pg_stat_archiver: pending WAL is never reported as "all archived",
 * even when the archiver finished the previous segment after the clock was read (seen under CI
 * load: a lag of 0 right after an insert, and a restore from the archive 100 rows short).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { archiveStatus } from "./backup.ts";
import type { PgInstance } from "./instance.ts";

function reading(row: { at: Date | null; pending: boolean }): PgInstance {
  const r = { wal: "000000010000000000000003", at: row.at, failed_wal: null, failed_at: null, pending: row.pending, started: new Date(0) };
  return { query: async () => [r] } as unknown as PgInstance;
}

test("pending WAL archived 'after now' still counts as unarchived", async () => {
  const now = 1_000_000;
  const s = await archiveStatus(reading({ at: new Date(now + 5), pending: true }), now);
  assert.ok(s.unarchivedAgeMs > 0, `lag ${s.unarchivedAgeMs}`);
});

test("nothing pending reads as 0, pending reads as its age", async () => {
  const now = 1_000_000;
  assert.equal((await archiveStatus(reading({ at: new Date(now - 400), pending: false }), now)).unarchivedAgeMs, 0);
  assert.equal((await archiveStatus(reading({ at: new Date(now - 400), pending: true }), now)).unarchivedAgeMs, 400);
});
