import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { tempDir } from "../../test/helpers/daemon.ts";
import { loadMigrations, openDb } from "./db.ts";
import { openStore } from "./store.ts";

// A child that writes events in transactions of 25 rows (each batch tagged) as fast as it can.
const WRITER = `
import { openStore } from ${JSON.stringify(new URL("./store.ts", import.meta.url).href)};
const store = openStore(process.argv[1]);
let batch = 0;
process.stdout.write("ready\\n");
for (;;) {
  batch++;
  store.db.tx(() => {
    for (let i = 0; i < 25; i++) store.events.append({ type: "daemon:stopping", data: { reason: "batch " + batch } }, new Date().toISOString());
  });
}
`;

test("kill -9 in the middle of writes: the store reopens, migrations are not re-applied, no half-written batch", async () => {
  const path = join(tempDir(), "berth.db");
  openStore(path).close();
  for (let round = 0; round < 3; round++) {
    const child = spawn(process.execPath, ["--input-type=module", "-e", WRITER, path], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    await sleep(150 + round * 100);
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
  }
  const db = openDb(path);
  try {
    const migrations = db.sql.prepare("SELECT version FROM schema_migrations ORDER BY version").all() as { version: number }[];
    assert.deepEqual(
      migrations.map((m) => m.version),
      loadMigrations().map((m) => m.version),
      "each migration recorded exactly once",
    );
    assert.equal((db.sql.prepare("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check, "ok");
    const batches = db.sql.prepare("SELECT data, COUNT(*) AS n FROM events GROUP BY data").all() as { data: string; n: number }[];
    assert.ok(batches.length > 3, `only ${batches.length} batches were written`);
    for (const b of batches) assert.equal(b.n % 25, 0, `batch ${b.data} has ${b.n} rows: half-written`);
  } finally {
    db.close();
  }
});
