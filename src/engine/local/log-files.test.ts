import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { LineSplitter, LogFile, parseLogLine, pruneLogs, readLogDir } from "./log-files.ts";

test("lines are split across chunks, CR stripped, long lines cut", () => {
  const s = new LineSplitter(5);
  assert.deepEqual(s.push("ab"), []);
  assert.deepEqual(s.push("c\r\nde\n1234567"), ["abc", "de", "12345"]);
  assert.deepEqual(s.flush(), ["67"]);
});

test("a log file rotates by size and keeps at most keepFiles old files", () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-logs-"));
  try {
    const f = new LogFile(dir, "in_1", { maxFileBytes: 200, keepFiles: 2, maxLineBytes: 100 });
    for (let i = 0; i < 40; i++) f.append([{ at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), instance: "in_1", stream: i % 2 ? "stderr" : "stdout", line: `line ${i}` }]);
    f.close();
    assert.deepEqual(readdirSync(dir).sort(), ["in_1.log", "in_1.log.1", "in_1.log.2"]);
    for (const name of readdirSync(dir)) assert.ok(statSync(join(dir, name)).size <= 200);
    const all = readLogDir(dir, { service: { project: "p", environment: "e", service: "s" } });
    assert.equal(all.at(-1)?.line, "line 39");
    assert.ok(all.length < 40, "the oldest lines were dropped");
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.at <= all[i]!.at);
    const since = readLogDir(dir, { service: { project: "p", environment: "e", service: "s" }, sinceMs: Date.UTC(2026, 0, 1, 0, 0, 38), grep: "3" });
    assert.deepEqual(since.map((l) => l.line), ["line 38", "line 39"]);
    assert.equal(since[1]!.stream, "stderr");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("malformed stored lines are skipped", () => {
  assert.equal(parseLogLine("garbage", "i"), undefined);
  assert.deepEqual(parseLogLine("2026-01-01T00:00:00.000Z err a b", "i"), { at: "2026-01-01T00:00:00.000Z", instance: "i", stream: "stderr", line: "a b" });
});

test("time-based retention removes the files of instances gone past it, never a running instance's", () => {
  const root = mkdtempSync(join(tmpdir(), "berth-log-retention-"));
  try {
    const dir = join(root, "shop", "prod", "web");
    mkdirSync(dir, { recursive: true });
    const DAY = 86_400_000;
    const now = Date.UTC(2026, 11, 5);
    const write = (name: string, ageMs: number) => {
      writeFileSync(join(dir, name), "2026-12-01T00:00:00.000Z out hello\n");
      utimesSync(join(dir, name), (now - ageMs) / 1000, (now - ageMs) / 1000);
    };
    write("in_old.log", 9 * DAY);
    write("in_old.log.1", 10 * DAY);
    write("in_recent.log", 2 * DAY);
    write("in_running.log", 30 * DAY); // a quiet instance that still runs
    write("in_mixed.log", 1 * DAY); // rotated long ago, written lately: kept whole
    write("in_mixed.log.1", 20 * DAY);
    writeFileSync(join(dir, "notes.txt"), "not a log");
    const removed = pruneLogs(root, new Set(["in_running"]), now, 7 * DAY).map((f) => f.slice(dir.length + 1)).sort();
    assert.deepEqual(removed, ["in_old.log", "in_old.log.1"]);
    assert.deepEqual(readdirSync(dir).sort(), ["in_mixed.log", "in_mixed.log.1", "in_recent.log", "in_running.log", "notes.txt"]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
