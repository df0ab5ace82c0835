import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { eventLevel } from "../core/events.ts";
import { cronAlertEvents } from "../core/events/cron.ts";
import { retryDelayMs } from "./backoff.ts";
import { CRON_DEFAULTS, jobKey, resolveCronJob } from "./job.ts";

const ref = { project: "trips", environment: "production", service: "parse-trip" };

describe("resolveCronJob", () => {
  test("fills defaults: UTC, forbid, 1 at a time, 1 h timeout, no retries, skip missed runs", () => {
    const job = resolveCronJob({ ref, schedule: " @hourly ", command: "parse-trip --share" });
    assert.equal(job.schedule, "@hourly");
    assert.equal(job.timezone, "UTC");
    assert.equal(job.concurrency, "forbid");
    assert.equal(job.maxConcurrent, 1);
    assert.equal(job.timeoutMs, 3_600_000);
    assert.deepEqual(job.retry, CRON_DEFAULTS.retry);
    assert.deepEqual(job.missed, { policy: "skip", maxRuns: 10 });
    assert.ok(Object.isFrozen(job));
    assert.equal(jobKey(job.ref), "trips/production/parse-trip");
  });

  test("maxConcurrent only applies under allow", () => {
    assert.equal(resolveCronJob({ ref, schedule: "@hourly", command: "x", concurrency: "allow", maxConcurrent: 3 }).maxConcurrent, 3);
    assert.equal(resolveCronJob({ ref, schedule: "@hourly", command: "x", concurrency: "forbid", maxConcurrent: 3 }).maxConcurrent, 1);
  });

  test("rejects bad settings with the field named", () => {
    const bad = (over: object, field: RegExp) =>
      assert.throws(() => resolveCronJob({ ref, schedule: "@hourly", command: "x", ...over }), (e: Error & { code?: string }) => e.code === "BERTH_CRON_SETTINGS_INVALID" && field.test(e.message));
    bad({ concurrency: "sometimes" }, /concurrency/);
    bad({ concurrency: "allow", maxConcurrent: 0 }, /maxConcurrent/);
    bad({ missed: { policy: "run-all", maxRuns: 0 } }, /missed\.maxRuns/);
    bad({ timeoutMs: 0 }, /timeout/);
    bad({ retry: { jitter: 2 } }, /retry\.jitter/);
    bad({ command: "  " }, /command/);
    assert.throws(() => resolveCronJob({ ref, schedule: "every hour", command: "x" }), { code: "BERTH_CRON_SCHEDULE_INVALID" });
    assert.throws(() => resolveCronJob({ ref, schedule: "@daily", command: "x", timezone: "Europe/Zurch" }), { code: "BERTH_CRON_TIMEZONE_INVALID" });
  });
});

describe("retryDelayMs", () => {
  const settings = { maxRetries: 5, initialDelayMs: 1000, maxDelayMs: 10_000, factor: 2, jitter: 0.5 };
  test("grows exponentially up to the cap", () => {
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => retryDelayMs(settings, n, 0)), [1000, 2000, 4000, 8000, 10_000]);
  });
  test("jitter takes off up to its fraction", () => {
    assert.equal(retryDelayMs(settings, 2, 0.999999), 1000);
    assert.equal(retryDelayMs(settings, 2, 0.5), 1500);
    assert.equal(retryDelayMs({ ...settings, jitter: 0 }, 2, 0.7), 2000);
  });
});

describe("cron events", () => {
  test("the alert-worthy events are rated error, retries warn", () => {
    for (const type of cronAlertEvents) assert.equal(eventLevel(type), "error", type);
    assert.equal(eventLevel("cron:run:retry"), "warn");
    assert.equal(eventLevel("cron:run:succeeded"), "info");
  });
});
