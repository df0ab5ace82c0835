import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parsePostgresUrl, parseRestoreTarget, withScheme } from "./target.ts";

describe("edge parsing for managed data", () => {
  test("restore targets", () => {
    assert.deepEqual(parseRestoreTarget("latest"), { kind: "latest" });
    assert.deepEqual(parseRestoreTarget("2026-01-22T04:15:00Z"), { kind: "time", at: "2026-01-22T04:15:00.000Z" });
    assert.deepEqual(parseRestoreTarget("2026-01-22 04:15:00+02"), { kind: "time", at: "2026-01-22T02:15:00.000Z" });
    assert.deepEqual(parseRestoreTarget("b-20260122T041500Z-ab12"), { kind: "backup", backup: "b-20260122T041500Z-ab12" });
    assert.deepEqual(parseRestoreTarget("point:berth-1"), { kind: "point", name: "berth-1" });
    assert.throws(() => parseRestoreTarget("yesterday"), /expected latest/);
  });

  test("both postgres:// and postgresql:// parse the same", () => {
    const a = parsePostgresUrl("postgres://app:p%40ss@127.0.0.1:5433/app");
    assert.deepEqual(a, { host: "127.0.0.1", port: 5433, user: "app", password: "p@ss", database: "app" });
    assert.deepEqual(parsePostgresUrl("postgresql://app:p%40ss@127.0.0.1:5433/app"), a);
    assert.equal(withScheme("postgresql://a:b@h:1/d", "postgres"), "postgres://a:b@h:1/d");
    assert.throws(() => parsePostgresUrl("mysql://x"), /postgres:\/\//);
  });
});
