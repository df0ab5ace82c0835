/** A blueprint edit never changes a database's PostgreSQL major: sync refuses it (issue 14). */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { systemClock } from "../core/clock.ts";
import { isBerthError } from "../core/errors.ts";
import { EventBus } from "../observe/event-bus.ts";
import { openStore } from "../store/store.ts";
import { makeSync } from "./sync.ts";

const text = (db: string) => `version: 1\nproject: demo\nservices:\n  w: { type: worker, start: node w.js }\ndatabases:\n  db:${db}\n`;

test("sync refuses another major than the server runs, and keeps it with a located warning when none is written", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-sync-majors-"));
  mkdirSync(join(dir, "src"));
  const store = openStore(join(dir, "berth.db"));
  try {
    const sync = makeSync({ store, events: new EventBus({ repo: store.events, clock: systemClock }), clock: systemClock, staticServer: [], requestReconcile: () => {}, postgresMajor: () => 15 });
    const req = (db: string) => ({ environment: "production", blueprintText: text(db), file: "berth.yaml", sourceDir: join(dir, "src") });
    await assert.rejects(
      () => sync(req("\n    postgres: 16"), "test"),
      (e) => isBerthError(e) && e.code === "BERTH_DATA_MAJOR_CHANGE" && /runs PostgreSQL 15; the blueprint asks for 16/.test(e.message) && /berth db upgrade db --to 16/.test(e.hint),
    );
    assert.equal(store.projects.byName("demo"), undefined, "nothing recorded");
    const kept = await sync(req(" {}"), "test");
    const w = kept.warnings.find((x) => x.code === "BERTH_DATA_MAJOR_CHANGE");
    assert.match(w!.message, /keeps PostgreSQL 15/);
    assert.deepEqual([w!.line, w!.column], [6, 3]);
    assert.equal((await sync(req("\n    postgres: 15"), "test")).warnings.length, 0);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
