import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { freshHistory } from "../rollout/restart-policy.ts";
import { type InstanceRecord, RecordStore } from "./records.ts";

test("instance records round-trip; damaged ones are dropped instead of crashing the daemon", () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-rec-"));
  try {
    const store = new RecordStore(dir);
    const rec: InstanceRecord = {
      id: "in_1", ref: { project: "p", environment: "e", service: "s" }, releaseId: "rel_1", port: 20001, pid: 4242, startTicks: 99,
      startedAt: "2026-01-01T00:00:00.000Z", restarts: 2, history: freshHistory, supervised: true,
    };
    store.saveInstance(rec);
    writeFileSync(join(dir, "instances", "broken.json"), "{not json");
    writeFileSync(join(dir, "instances", "wrong.json"), JSON.stringify({ id: 3 }));
    assert.deepEqual(store.instances(), [rec]);
    store.deleteInstance("in_1");
    assert.deepEqual(store.instances(), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
