/**
 * Acceptance (issue 16): disaster recovery. Seed 000's stack takes writes, backs up, archives;
 * then only a copy of its backups directory survives. A fresh daemon on a fresh data dir deploys
 * the same blueprint (an empty database, migrated), and `berth db recover --from <copy>` rebuilds
 * the database from base backups + archive alone, drills it, and the services move onto it: every
 * table's row count and checksum equal the original's.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import pg from "pg";
import { tableChecksums } from "../../src/data/postgres/points.ts";
import { type Stack, sleep, startStack, until, Writer } from "./stack.ts";

async function checksums(url: string): Promise<Record<string, { rows: number; checksum: string }>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await tableChecksums(c, "playlists", false);
  } finally {
    await c.end();
  }
}

describe("disaster recovery from a copy of the backups directory", () => {
  const copy = mkdtempSync(join(tmpdir(), "berth-dr-copy-"));
  let original: Stack | undefined;
  let fresh: Stack | undefined;
  after(async () => {
    await original?.close();
    await fresh?.close();
    rmSync(copy, { recursive: true, force: true });
  });

  test("berth db recover --from <copy> on a fresh machine: row checksums equal, a drill passed", async () => {
    original = await startStack({ resyncIntervalMs: 5000 });
    const writer = new Writer(20);
    await writer.follow(await original.dbUrl());
    for (let i = 0; i < 5; i++) await original.post("api-backend", "/trips", { shareUrl: `https://maps.example/trip/dr-${i}` });
    assert.equal((await original.berth(["db", "backup"])).status, 0);
    await sleep(1500); // writes after the base backup: only the archive holds them
    await writer.stop();
    // Everything written is archived (the writer stopped; the lag drops to zero).
    await until(async () => {
      const list = JSON.parse((await original!.berth(["db", "list", "--json"])).stdout);
      return list.databases[0].archiveLagMs === 0 ? true : undefined;
    }, "the archive to catch up", 120_000, 1000);
    const before = await checksums(await original.dbUrl());
    assert.ok((before["playlists.public.load_marks"]?.rows ?? 0) > 20, JSON.stringify(before));
    cpSync(join(original.dataDir, "backups"), join(copy, "backups"), { recursive: true });
    await original.close();
    original = undefined;

    fresh = await startStack({ resyncIntervalMs: 5000 });
    const empty = await checksums(await fresh.dbUrl());
    assert.equal(empty["playlists.public.trips"]?.rows, 0, "the fresh deploy starts with an empty, migrated database");
    // The fresh deploy's migrations left rows (the migrations table): recovering over them is asked for.
    const refused = await fresh.berth(["db", "recover", "--from", join(copy, "backups")]);
    assert.equal(refused.status, 5, refused.stderr);
    assert.match(refused.stderr, /BERTH_DATA_RECOVER_REFUSED[\s\S]*--replace/);
    const r = await fresh.berth(["db", "recover", "--from", join(copy, "backups"), "--replace", "--json"]);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.drill.ok, true, JSON.stringify(out.drill));
    assert.ok(out.drill.tables >= 5);
    const after = await checksums(await fresh.dbUrl());
    assert.deepEqual(after, before, "every table: the same rows, the same checksum");
    // The services moved onto the recovered database.
    const trips = await fresh.get("api-backend", "/trips/1");
    assert.equal(trips.status, 200, trips.body);
    console.log(`disaster recovery: ${Object.keys(after).length} tables, ${after["playlists.public.load_marks"]!.rows} load rows, recover + drill + switch ${r.ms} ms`);
  });
});
