import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffMs, decideRestart, freshHistory, type RestartHistory } from "./restart-policy.ts";

const exit = (atMs: number, ranMs = 100, code: number | null = 1) => ({ code, signal: null, startedAtMs: atMs - ranMs, exitedAtMs: atMs });

test("backoff: at once, then 1 s doubling to a 5 min cap", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(backoffMs), [0, 1000, 2000, 4000, 8000, 16000]);
  assert.equal(backoffMs(30), 300_000);
});

test("five failures within ten minutes mark crash-looping; restarts continue", () => {
  let h: RestartHistory = freshHistory;
  const out = [];
  for (let i = 0; i < 6; i++) {
    const d = decideRestart({ policy: "always" }, exit(1_000_000 + i * 1000), h);
    h = d.history;
    out.push([d.restart, d.delayMs, d.crashLooping]);
  }
  assert.deepEqual(out, [
    [true, 0, false], [true, 1000, false], [true, 2000, false], [true, 4000, false], [true, 8000, true], [true, 16000, true],
  ]);
});

test("failures older than the window do not count, and a 10 min healthy run resets the backoff", () => {
  let h: RestartHistory = freshHistory;
  for (let i = 0; i < 4; i++) h = decideRestart({ policy: "always" }, exit(i * 1000), h).history;
  const late = decideRestart({ policy: "always" }, exit(11 * 60_000, 60_000), h);
  assert.equal(late.failures, 1);
  assert.equal(late.delayMs, 2 ** 3 * 1000, "backoff continues after a short run");
  const reset = decideRestart({ policy: "always" }, exit(30 * 60_000, 10 * 60_000), late.history);
  assert.equal(reset.delayMs, 0);
  assert.equal(reset.attempt, 1);
});

test("on-failure restarts failures only, up to maxRetries; never never restarts", () => {
  const clean = decideRestart({ policy: "on-failure", maxRetries: 2 }, exit(1000, 100, 0), freshHistory);
  assert.equal(clean.restart, false);
  let h: RestartHistory = freshHistory;
  const r = [];
  for (let i = 0; i < 3; i++) {
    const d = decideRestart({ policy: "on-failure", maxRetries: 2 }, exit(1000 + i), h);
    h = d.history;
    r.push(d.restart);
  }
  assert.deepEqual(r, [true, true, false]);
  assert.equal(decideRestart({ policy: "never" }, exit(1000), freshHistory).restart, false);
  assert.equal(decideRestart({ policy: "always" }, exit(1000, 100, 0), freshHistory).restart, true);
});
