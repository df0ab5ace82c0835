/**
 * Acceptance: a restore drill restores a recorded moment into a scratch instance, verifies it
 * (pg_amcheck, row counts, checksums) and records RTO and RPO; a deliberately corrupted backup
 * makes the drill fail loudly (thrown BERTH_DATA_DRILL_FAILED and a `drill:failed` event).
 */
import assert from "node:assert/strict";
import { appendFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { isBerthError } from "../../src/core/errors.ts";
import { PostgresProvider } from "../../src/data/postgres/provider.ts";
import { RecordingSink, tempRoot } from "./helpers.ts";

describe("postgres restore drills", () => {
  const root = tempRoot("berth-drill-");
  const events = new RecordingSink();
  // random() near 1 makes the drill pick the newest recorded point.
  const provider = new PostgresProvider({ environment: "test", rootDir: join(root.dir, "pg"), storeDir: join(root.dir, "store"), events, archiveTimeoutMs: 10_000, random: () => 0.999 });
  let app: pg.Client;

  before(async () => {
    const p = await provider.provision({ name: "db" });
    app = new pg.Client({ connectionString: p.connection.connectionString });
    await app.connect();
    await app.query("CREATE TABLE items (id serial PRIMARY KEY, body text)");
    await app.query("INSERT INTO items (body) SELECT md5(g::text) FROM generate_series(1, 2000) g");
  });

  after(async () => {
    await app?.end().catch(() => {});
    await provider.stop();
    root.cleanup();
  });

  test("upkeep on a new server takes the first verified backup, prunes and records a point", async () => {
    const results = await provider.tick("db");
    assert.deepEqual(
      results.map((r) => [r.duty, r.ok]),
      [["check-archive", true], ["backup", true], ["prune", true], ["point", true]],
    );
    assert.equal((await provider.backups("db")).filter((b) => b.kind === "base" && b.verified).length, 1);
  });

  test("a drill restores a recorded moment and verifies it", async () => {
    await provider.backup("db");
    await app.query("INSERT INTO items (body) VALUES ('after backup')");
    const point = await provider.recordPoint("db");
    assert.equal(point.tables["db.public.items"]?.rows, 2001);
    await app.query("DELETE FROM items WHERE id < 100"); // after the point: must not show up
    const drill = await provider.drill("db");
    assert.equal(drill.ok, true);
    assert.equal(drill.tables, 1);
    assert.ok(drill.rtoMs > 0 && drill.rpoMs >= 0);
    console.log(`drill RTO ${drill.rtoMs} ms, RPO ${drill.rpoMs} ms`);
    assert.equal(events.of("drill:passed").length, 1);
    assert.equal((await provider.drills("db")).at(-1)?.ok, true);
  });

  test("a corrupted backup fails the drill loudly", async () => {
    const backup = await provider.backup("db");
    // Flip bytes in the largest relation file of the backup, as a bad disk would.
    const dbDir = join(backup.path, "base");
    const files = readdirSync(dbDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && /^\d+$/.test(e.name));
    const biggest = files.map((e) => join(e.parentPath, e.name)).sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
    appendFileSync(biggest, Buffer.alloc(8192, 0xff));
    await provider.recordPoint("db");
    await assert.rejects(provider.drill("db"), (e) => isBerthError(e) && e.code === "BERTH_DATA_DRILL_FAILED" && /verification|checksum|size/i.test(e.message));
    const failed = events.of("drill:failed");
    assert.equal(failed.length, 1);
    assert.match(failed[0]!.data.reason, /BERTH_DATA_BACKUP_CORRUPT/);
    assert.equal((await provider.drills("db")).at(-1)?.ok, false);
  });
});
