/**
 * The WAL archive under damage and the database's history across promotes, on a real server:
 * an unchanged reconcile writes nothing; a deleted or damaged archived segment fails `latest`
 * and a drill, naming it, while earlier targets still restore; a restore to a time before an
 * earlier promote gives exactly the rows of the old timeline.
 */
import assert from "node:assert/strict";
import { openSync, readdirSync, readSync, renameSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { isBerthError } from "../../src/core/errors.ts";
import { PostgresProvider } from "../../src/data/postgres/provider.ts";
import { RecordingSink, sleep, tempRoot } from "./helpers.ts";

describe("postgres WAL archive: gaps are errors, one timeline across promotes", () => {
  const root = tempRoot("berth-archive-");
  const events = new RecordingSink();
  const provider = new PostgresProvider({ environment: "test", rootDir: join(root.dir, "pg"), storeDir: join(root.dir, "store"), events, archiveTimeoutMs: 2000, monitorIntervalMs: 0 });
  let password = "";
  const clients: pg.Client[] = [];
  const connect = async (url: string) => {
    const c = new pg.Client({ connectionString: url });
    c.on("error", () => {});
    await c.connect();
    clients.push(c);
    return c;
  };
  const app = async () => connect((await provider.connection("db", password)).connectionString);
  /** The live server's archive directory and its segments, oldest first. */
  const liveWal = async () => {
    const live = (await provider.list())[0]!.servers.find((s) => s.role === "live")!.instance;
    const wal = join(root.dir, "store", live, "wal");
    return {
      wal,
      segments: readdirSync(wal)
        .filter((f) => /^[0-9A-F]{24}$/.test(f))
        .sort(),
    };
  };
  /** Forces the current WAL segment out (superuser, over the admin socket). */
  const switchWal = async () => {
    const a = provider.adminEndpoint()!;
    const k = await connect(`postgresql://postgres@${encodeURIComponent(a.socketDir)}:${a.port}/postgres`);
    await k.query("SELECT pg_switch_wal()");
    await k.end();
  };
  /** Commit timestamp of the newest row, to place a target between commits exactly. */
  const stamp = async (c: pg.Client) => (await c.query<{ at: string }>("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS at")).rows[0]!.at;

  before(async () => {
    const p = await provider.provision({ name: "db" });
    password = p.connection.password;
    const c = await app();
    await c.query("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)");
  });

  after(async () => {
    for (const c of clients) await c.end().catch(() => {});
    await provider.stop();
    root.cleanup();
  });

  test("a reconcile that changes nothing writes nothing: no ALTER ROLE, no GRANT, no WAL", async () => {
    // pg_authid is readable by superusers only: read through the admin socket.
    const admin = new pg.Client({ host: provider.adminEndpoint()!.socketDir, port: provider.adminEndpoint()!.port, user: "postgres", database: "postgres" });
    await admin.connect();
    clients.push(admin);
    const read = async () => (await admin.query<{ role: string; db: string; lsn: string }>("SELECT (SELECT xmin::text FROM pg_authid WHERE rolname = 'db') AS role, (SELECT xmin::text FROM pg_database WHERE datname = 'db') AS db, pg_current_wal_insert_lsn()::text AS lsn")).rows[0]!;
    const provisioned = events.of("data:provisioned").length;
    // The server writes WAL of its own now and then (archive_timeout's segment switch every 2 s
    // after activity, checkpoints, standby snapshots), so one moved LSN proves nothing: a write of
    // the reconcile would move it in every attempt, the server's own only in some.
    const attempts: { before: Awaited<ReturnType<typeof read>>; after: Awaited<ReturnType<typeof read>> }[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = await read();
      for (let i = 0; i < 10; i++) await provider.provision({ name: "db" }, { password });
      const after = await read();
      attempts.push({ before, after });
      assert.deepEqual([after.role, after.db], [before.role, before.db], "role and database rows untouched");
      if (after.lsn === before.lsn) break;
      await sleep(2500); // past archive_timeout: the switch it owed is done
    }
    const quiet = attempts.find((a) => a.after.lsn === a.before.lsn);
    assert.ok(quiet, `no WAL written by ten reconciles in at least one of ${attempts.length} attempts: ${JSON.stringify(attempts)}`);
    assert.equal(events.of("data:provisioned").length, provisioned, "nothing to report");
  });

  test("a restore to a time before an earlier promote gives exactly the old timeline's rows", async () => {
    const c = await app();
    await provider.backup("db");
    await c.query("INSERT INTO notes (body) VALUES ('a1'), ('a2')");
    await sleep(20);
    const t1 = await stamp(c);
    await sleep(20);
    await c.query("INSERT INTO notes (body) VALUES ('a3')");
    await sleep(20);
    const t2 = await stamp(c); // after a3, before the promote: lives only on the old timeline
    await sleep(20);
    await c.query("INSERT INTO notes (body) VALUES ('a4')");
    const promoted = await provider.restore("db", { kind: "time", at: t1 }, { mode: "promote" });
    for (const x of clients.splice(0)) await x.end().catch(() => {});
    const n = await app();
    await n.query("INSERT INTO notes (body) VALUES ('b1')");
    const rows = async (url: string) => {
      const k = await connect(url);
      return (await k.query<{ body: string }>("SELECT body FROM notes ORDER BY id")).rows.map((r) => r.body);
    };
    assert.deepEqual(await rows((await provider.connection("db", password)).connectionString), ["a1", "a2", "b1"]);
    // T2 is before the promote: the old server's history, although the live one branched at T1.
    const back = await provider.restore("db", { kind: "time", at: t2 }, { mode: "keep" });
    assert.deepEqual(await rows(`postgresql://db:${encodeURIComponent(password)}@127.0.0.1:${back.port}/db`), ["a1", "a2", "a3"]);
    await provider.discardRestore(back.restore);
    // And the new timeline after the promote.
    await sleep(20);
    const t3 = await stamp(n);
    await sleep(20);
    await n.query("INSERT INTO notes (body) VALUES ('b2')");
    const fwd = await provider.restore("db", { kind: "time", at: t3 }, { mode: "keep" });
    assert.deepEqual(await rows(`postgresql://db:${encodeURIComponent(password)}@127.0.0.1:${fwd.port}/db`), ["a1", "a2", "b1"]);
    await provider.discardRestore(fwd.restore);
    const listed = await provider.backups("db");
    assert.ok(listed.some((b) => b.store === promoted.restore) && listed.some((b) => b.store !== promoted.restore), "backups of both servers listed");
  });

  test("a deleted archived segment fails `latest` and a drill, naming it; a time before it still restores", async () => {
    const c = await app();
    await provider.backup("db");
    await c.query("INSERT INTO notes (body) SELECT 'bulk ' || g FROM generate_series(1, 3000) g");
    await sleep(20);
    const before = await stamp(c);
    await sleep(20);
    // Push a few segments out, then remove one from the middle of the live store's archive.
    for (let i = 0; i < 3; i++) {
      await c.query("INSERT INTO notes (body) SELECT 'more ' || g FROM generate_series(1, 3000) g");
      await switchWal();
    }
    await sleep(2500);
    const { wal, segments } = await liveWal();
    const victim = segments.at(-2)!;
    renameSync(join(wal, victim), join(wal, `${victim}.hidden`));
    try {
      const instancesBefore = readdirSync(join(root.dir, "pg", "instances")).filter((d) => !d.endsWith(".log"));
      await assert.rejects(provider.restore("db", { kind: "latest" }, { mode: "keep" }), (e) => isBerthError(e) && e.code === "BERTH_DATA_WAL_GAP" && e.message.includes(victim));
      assert.deepEqual(readdirSync(join(root.dir, "pg", "instances")).filter((d) => !d.endsWith(".log")), instancesBefore, "a failed restore leaves no instance directory");
      await assert.rejects(provider.drill("db"), (e) => isBerthError(e) && e.code === "BERTH_DATA_DRILL_FAILED" && e.message.includes(victim));
      assert.match(events.of("drill:failed").at(-1)!.data.reason, new RegExp(victim));
      const ok = await provider.restore("db", { kind: "time", at: before }, { mode: "keep" });
      await provider.discardRestore(ok.restore);
    } finally {
      renameSync(join(wal, `${victim}.hidden`), join(wal, victim));
    }
    // The newest archived segment deleted, restoring from the archive alone (no flush to hide it
    // behind a newer one): the archive script's record says it was stored, so it is a gap.
    const newest = (await liveWal()).segments.at(-1)!;
    renameSync(join(wal, newest), join(wal, `${newest}.hidden`));
    try {
      await assert.rejects(provider.restore("db", { kind: "latest" }, { mode: "keep", fromArchive: true }), (e) => isBerthError(e) && e.code === "BERTH_DATA_WAL_GAP" && e.message.includes(newest));
    } finally {
      renameSync(join(wal, `${newest}.hidden`), join(wal, newest));
    }
  });

  test("a damaged archived segment (flipped bytes) fails a drill and `latest`, naming it", async () => {
    const c = await app();
    await provider.backup("db");
    for (let i = 0; i < 4; i++) {
      await c.query("INSERT INTO notes (body) SELECT 'dmg ' || g FROM generate_series(1, 3000) g");
      await switchWal();
    }
    await sleep(2500);
    const { wal, segments } = await liveWal();
    const victim = segments.at(-3)!;
    const fd = openSync(join(wal, victim), "r+");
    const original = Buffer.alloc(4096);
    readSync(fd, original, 0, 4096, 200_000);
    writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, 200_000);
    try {
      await assert.rejects(provider.drill("db"), (e) => isBerthError(e) && e.code === "BERTH_DATA_DRILL_FAILED" && e.message.includes(victim));
      await assert.rejects(provider.restore("db", { kind: "latest" }, { mode: "keep" }), (e) => isBerthError(e) && e.code === "BERTH_DATA_WAL_GAP" && e.message.includes(victim));
    } finally {
      writeSync(fd, original, 0, 4096, 200_000);
      closeSync(fd);
    }
    const d = await provider.drill("db");
    assert.equal(d.ok, true, d.detail);
  });
});
