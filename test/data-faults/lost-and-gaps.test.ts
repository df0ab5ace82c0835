/**
 * Acceptance (issue 16) on seed 000's stack: the live data directory deleted is an alert and a
 * stop — no initdb — and `db restore --from-archive` brings back everything archived; a restore
 * to a time before that promote gives exactly the rows of the old timeline; an archived segment
 * deleted makes `restore --to latest` and a drill fail, naming it.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { marksAt, type Stack, sleep, startStack, until, Writer } from "./stack.ts";

describe("a lost data directory and a gap in the archive, on a live stack", () => {
  let stack: Stack;
  let writer: Writer;
  const list = async () => JSON.parse((await stack.berth(["db", "list", "--json"])).stdout).databases[0];
  const pgRoot = () => join(stack.dataDir, "resources", stack.project, stack.env, "postgres");
  const storeOf = (instance: string) => join(stack.dataDir, "backups", stack.project, stack.env, "postgres", instance);

  before(async () => {
    stack = await startStack({ resyncIntervalMs: 2000 });
    writer = new Writer(50);
    await writer.follow(await stack.dbUrl());
    assert.equal((await stack.berth(["db", "backup"])).status, 0);
  });
  after(async () => {
    await writer?.stop();
    await stack?.close();
  });

  let beforeLoss = "";
  let upToBeforeLoss: string[] = [];
  test("the live data directory deleted: an alert, no initdb; --from-archive brings back everything archived", async () => {
    await sleep(1500);
    beforeLoss = await writer.now();
    await sleep(500);
    upToBeforeLoss = await writer.upTo(beforeLoss);
    const live = (await list()).servers.find((s: { role: string }) => s.role === "live").instance as string;
    await writer.stop();
    const written = await marksAt(await stack.dbUrl());
    await until(async () => ((await list()).archiveLagMs === 0 ? true : undefined), "the archive to catch up", 120_000, 500);
    const dataDir = join(pgRoot(), "instances", live, "data");
    rmSync(dataDir, { recursive: true, force: true });
    const alert = await until(async () => stack.events().find((e) => e.type === "data:datadir:failed"), "the alert", 30_000);
    console.log(`data dir deleted: alert ${JSON.stringify(alert.data).slice(0, 200)}`);
    // Resyncs keep coming (every 2 s): none creates an empty database in its place.
    await sleep(5000);
    assert.equal(existsSync(join(dataDir, "PG_VERSION")), false, "no initdb");
    assert.equal((await list()).running, false);
    const failed = stack.events().filter((e) => e.type === "reconcile:failed");
    assert.ok(failed.some((e) => /BERTH_DATA_DIR_LOST|data directory/.test(JSON.stringify(e.data))), "reconciles fail loudly, naming the cause");
    const r = await stack.berth(["db", "restore", "--from-archive"]);
    assert.equal(r.status, 0, r.stderr);
    const url = await stack.dbUrl();
    assert.deepEqual(await marksAt(url), written, "every row written (all archived) is back");
    assert.equal((await stack.get("api-backend", "/health")).status, 200);
    writer = new Writer(50);
    await writer.follow(url);
  });

  test("a restore to a time before that promote gives exactly the old timeline's rows", async () => {
    await sleep(1000); // rows on the new timeline, which this restore leaves behind
    const r = await stack.berth(["db", "restore", "--to", beforeLoss]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(await marksAt(await stack.dbUrl()), upToBeforeLoss, `exactly the rows committed up to ${beforeLoss} on the lost server`);
    await writer.follow(await stack.dbUrl());
  });

  test("an archived segment deleted: restore --to latest and a drill fail, naming it", async () => {
    // A few segments of WAL after the newest base backup (1 MB segments are archived when full).
    const c = new pg.Client({ connectionString: await stack.dbUrl() });
    await c.connect();
    await c.query("INSERT INTO load_marks (note) SELECT repeat('x', 200) FROM generate_series(1, 20000)");
    await c.end();
    const backups = JSON.parse((await stack.berth(["db", "backups", "--json"])).stdout).backups as { startWal?: string; verified: boolean }[];
    const startWal = backups.filter((b) => b.verified && b.startWal).at(-1)!.startWal!;
    const live = (await list()).servers.find((s: { role: string }) => s.role === "live").instance as string;
    const wal = join(storeOf(live), "wal");
    const segments = await until(async () => {
      const after = readdirSync(wal)
        .filter((f) => /^[0-9A-F]{24}$/.test(f) && f > startWal)
        .sort();
      return after.length >= 3 ? after : undefined;
    }, "segments after the newest backup");
    const victim = segments[1]!;
    renameSync(join(wal, victim), join(wal, `${victim}.gone`));
    try {
      const latest = await stack.berth(["db", "restore", "--to", "latest"]);
      assert.notEqual(latest.status, 0);
      assert.match(latest.stderr, new RegExp(`BERTH_DATA_WAL_GAP.*${victim}|${victim}.*BERTH_DATA_WAL_GAP`, "s"));
      const drill = await stack.berth(["db", "drill"]);
      assert.notEqual(drill.status, 0);
      assert.match(drill.stderr, new RegExp(victim));
      assert.match(drill.stderr, /BERTH_DATA_DRILL_FAILED/);
    } finally {
      renameSync(join(wal, `${victim}.gone`), join(wal, victim));
    }
  });
});
