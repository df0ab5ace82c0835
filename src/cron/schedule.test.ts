import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseSchedule } from "./schedule.ts";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? "none" : new Date(ms).toISOString());

/** The next `n` slots after `fromIso`, as ISO strings (UTC). */
function slots(expr: string, tz: string, fromIso: string, n: number): string[] {
  const s = parseSchedule(expr, tz);
  const out: string[] = [];
  let t = at(fromIso);
  for (let i = 0; i < n; i++) {
    const next = s.next(t);
    if (next === undefined) break;
    out.push(iso(next));
    t = next;
  }
  return out;
}

/** Local wall-clock hour:minute of an instant in a time zone. */
function local(isoText: string, tz: string): string {
  return new Intl.DateTimeFormat("en-GB", { timeZone: tz, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(isoText));
}

describe("parseSchedule", () => {
  test("reads 5 fields, 6 fields with seconds and shortcuts", () => {
    assert.deepEqual(slots("*/15 * * * *", "UTC", "2026-01-01T10:07:00Z", 2), ["2026-01-01T10:15:00.000Z", "2026-01-01T10:30:00.000Z"]);
    assert.deepEqual(slots("*/10 * * * * *", "UTC", "2026-01-01T00:00:00Z", 2), ["2026-01-01T00:00:10.000Z", "2026-01-01T00:00:20.000Z"]);
    assert.deepEqual(slots("@hourly", "UTC", "2026-01-01T10:07:00Z", 1), ["2026-01-01T11:00:00.000Z"]);
    assert.deepEqual(slots("@daily", "UTC", "2026-01-01T10:07:00Z", 1), ["2026-01-02T00:00:00.000Z"]);
  });

  test("next is strictly after the given instant", () => {
    const s = parseSchedule("0 * * * *");
    assert.equal(iso(s.next(at("2026-01-01T10:00:00Z"))), "2026-01-01T11:00:00.000Z");
    assert.equal(iso(s.next(at("2026-01-01T09:59:59.999Z"))), "2026-01-01T10:00:00.000Z");
  });

  test("previous counts a slot exactly at the reference", () => {
    const s = parseSchedule("0 * * * *");
    assert.deepEqual(s.previous(2, at("2026-01-01T10:00:00Z")).map(iso), ["2026-01-01T10:00:00.000Z", "2026-01-01T09:00:00.000Z"]);
  });

  test("rejects a bad expression with a catalogued error", () => {
    assert.throws(() => parseSchedule("61 * * * *"), { code: "BERTH_CRON_SCHEDULE_INVALID" });
    assert.throws(() => parseSchedule("* * * *"), { code: "BERTH_CRON_SCHEDULE_INVALID" });
    assert.throws(() => parseSchedule("0 0 0 1 1 * 2030"), { code: "BERTH_CRON_SCHEDULE_INVALID" });
  });

  test("rejects an unknown time zone", () => {
    assert.throws(() => parseSchedule("* * * * *", "Mars/Olympus"), { code: "BERTH_CRON_TIMEZONE_INVALID" });
  });

  test("reads the schedule in its time zone", () => {
    assert.deepEqual(slots("0 9 * * *", "Asia/Tokyo", "2026-01-01T12:00:00Z", 1), ["2026-01-02T00:00:00.000Z"]);
    assert.deepEqual(slots("0 9 * * *", "America/New_York", "2026-01-01T12:00:00Z", 1), ["2026-01-01T14:00:00.000Z"]);
    // the same wall-clock time is one hour earlier in UTC once New York is on summer time
    assert.deepEqual(slots("0 9 * * *", "America/New_York", "2026-07-01T12:00:00Z", 1), ["2026-07-01T13:00:00.000Z"]);
  });
});

describe("DST in Europe/Zurich (2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00)", () => {
  const tz = "Europe/Zurich";

  test("spring forward: a fixed-time job in the gap runs at the first valid time, once", () => {
    const got = slots("30 2 * * *", tz, "2026-03-28T12:00:00Z", 3);
    assert.deepEqual(got, ["2026-03-29T01:00:00.000Z", "2026-03-30T00:30:00.000Z", "2026-03-31T00:30:00.000Z"]);
    assert.deepEqual(got.map((t) => local(t, tz)), ["03:00", "02:30", "02:30"]);
  });

  test("spring forward: an hourly job skips the missing hour, with no gap in real time", () => {
    const got = slots("0 * * * *", tz, "2026-03-28T23:30:00Z", 4);
    assert.deepEqual(got.map((t) => local(t, tz)), ["01:00", "03:00", "04:00", "05:00"]);
    assert.deepEqual(got, ["2026-03-29T00:00:00.000Z", "2026-03-29T01:00:00.000Z", "2026-03-29T02:00:00.000Z", "2026-03-29T03:00:00.000Z"]);
  });

  test("fall back: a fixed-time job in the repeated hour runs once, at the first occurrence", () => {
    const got = slots("30 2 * * *", tz, "2026-10-24T12:00:00Z", 2);
    assert.deepEqual(got, ["2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"]);
  });

  test("fall back: an interval job runs on both occurrences of the repeated hour", () => {
    const got = slots("*/30 * * * *", tz, "2026-10-24T23:50:00Z", 4);
    assert.deepEqual(got, ["2026-10-25T00:00:00.000Z", "2026-10-25T00:30:00.000Z", "2026-10-25T01:00:00.000Z", "2026-10-25T01:30:00.000Z"]);
    assert.deepEqual(got.map((t) => local(t, tz)), ["02:00", "02:30", "02:00", "02:30"]);
  });
});

describe("DST in America/New_York (2026-03-08 02:00 -> 03:00, 2026-11-01 02:00 -> 01:00)", () => {
  const tz = "America/New_York";

  test("spring forward: 02:30 does not exist and runs at 03:00 EDT", () => {
    const got = slots("30 2 * * *", tz, "2026-03-07T12:00:00Z", 2);
    assert.deepEqual(got, ["2026-03-08T07:00:00.000Z", "2026-03-09T06:30:00.000Z"]);
    assert.deepEqual(got.map((t) => local(t, tz)), ["03:00", "02:30"]);
  });

  test("fall back: 01:30 happens twice and a daily job runs once (EDT)", () => {
    const got = slots("30 1 * * *", tz, "2026-10-31T12:00:00Z", 2);
    assert.deepEqual(got, ["2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z"]);
  });

  test("@hourly keeps a steady hour in real time across both changes", () => {
    for (const from of ["2026-03-08T05:30:00Z", "2026-11-01T04:30:00Z"]) {
      const got = slots("@hourly", tz, from, 4).map(at);
      for (let i = 1; i < got.length; i++) assert.equal(got[i]! - got[i - 1]!, 3_600_000);
    }
  });
});
