/**
 * Acceptance: rows written continuously; base backup; writes continue; restore to a time T in
 * between gives exactly the rows committed up to T; the RPO measured from the archive alone is
 * within 60 s. Commit timestamps (track_commit_timestamp) make "committed up to T" exact.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { PostgresProvider } from "../../src/data/postgres/provider.ts";
import { RecordingSink, sleep, tempRoot } from "./helpers.ts";

describe("postgres point-in-time recovery", () => {
  const root = tempRoot("berth-pitr-");
  const events = new RecordingSink();
  const provider = new PostgresProvider({ environment: "test", rootDir: join(root.dir, "pg"), storeDir: join(root.dir, "store"), events, archiveTimeoutMs: 5000 });
  let url = "";
  let password = "";
  const clients: pg.Client[] = [];

  const connect = async (connectionString: string) => {
    const c = new pg.Client({ connectionString });
    c.on("error", () => {}); // clients of a server that a promote stops
    await c.connect();
    clients.push(c);
    return c;
  };

  /** Inserts one row at a time until stopped; returns how many were written. */
  const writer = (c: pg.Client) => {
    let running = true;
    const done = (async () => {
      let n = 0;
      while (running) {
        await c.query("INSERT INTO events (note) VALUES ($1)", [`row ${n++}`]);
        await sleep(10);
      }
      return n;
    })();
    return {
      stop: () => {
        running = false;
        return done;
      },
    };
  };

  before(async () => {
    const p = await provider.provision({ name: "db", version: 15 });
    url = p.connection.connectionString;
    password = p.connection.password;
    assert.equal(p.passwordGenerated, true);
    const c = await connect(url);
    await c.query("CREATE TABLE events (id bigserial PRIMARY KEY, note text NOT NULL)");
  });

  after(async () => {
    for (const c of clients) await c.end().catch(() => {});
    await provider.stop();
    root.cleanup();
  });

  test("restore to T holds every row committed up to T and none after", async () => {
    const app = await connect(url);
    const w = writer(app);
    await sleep(400);
    const backup = await provider.backup("db");
    assert.equal(backup.verified, true);
    await sleep(600);
    const t = new Date().toISOString();
    await sleep(600);
    await w.stop();

    const restored = await provider.restore("db", { kind: "time", at: t }, { mode: "keep" });
    assert.notEqual(restored.port, (await provider.connection("db", password)).port);
    const live = (await app.query<{ id: string; after: boolean }>("SELECT id, pg_xact_commit_timestamp(xmin) > $1::timestamptz AS after FROM events ORDER BY id", [t])).rows;
    const before = live.filter((r) => !r.after).map((r) => r.id);
    assert.ok(before.length > 0 && live.length > before.length, "rows on both sides of T");
    // postgres:// is accepted as well as postgresql://.
    const copy = await connect(`postgres://db:${encodeURIComponent(password)}@127.0.0.1:${restored.port}/db`);
    const got = (await copy.query<{ id: string }>("SELECT id FROM events ORDER BY id")).rows.map((r) => r.id);
    assert.deepEqual(got, before);
    assert.equal(events.of("restore:completed").length, 1);
    await copy.end();
    await provider.discardRestore(restored.restore);
  });

  test("promote: the restored instance becomes the server, the old one retires once unused, backups start afresh", async () => {
    const app = await connect(url);
    await app.query("INSERT INTO events (note) VALUES ('before promote')");
    // Commit timestamps have microseconds, Date only milliseconds: keep T clear of the commit.
    await sleep(20);
    const t = new Date().toISOString();
    await sleep(50);
    await app.query("INSERT INTO events (note) VALUES ('lost by the restore')");
    const oldPort = (await provider.connection("db", password)).port;
    const restored = await provider.restore("db", { kind: "time", at: t }, { mode: "promote" });
    const conn = await provider.connection("db", password);
    assert.equal(conn.port, restored.port);
    assert.notEqual(conn.port, oldPort);
    // Clients still on the old server keep working until they move; then it retires.
    assert.equal((await app.query("SELECT 1 AS one")).rows[0].one, 1);
    for (const c of clients.splice(0)) await c.end().catch(() => {});
    await provider.provision({ name: "db", version: 15 }, { password });
    await assert.rejects(connect(url), /ECONNREFUSED/);
    assert.equal(events.of("data:retired").length, 1);
    const c = await connect(conn.connectionString);
    const notes = (await c.query<{ note: string }>("SELECT note FROM events WHERE note IN ('before promote', 'lost by the restore')")).rows.map((r) => r.note);
    assert.deepEqual(notes, ["before promote"]);
    await c.query("INSERT INTO events (note) VALUES ('after promote')");
    const backups = await provider.backups("db");
    assert.equal(backups.filter((b) => b.store === restored.restore).length, 1, "a fresh verified base backup of the new timeline");
    assert.ok(backups.some((b) => b.store !== restored.restore), "the old server's backups stay listed");
    const dump = await provider.dump("db");
    assert.equal(dump.kind, "dump");
    assert.equal(dump.verified, true);
  });

  test("after losing the server, the RPO measured from the archive alone is within 60 s", async () => {
    const app = await connect((await provider.connection("db", password)).connectionString);
    const w = writer(app);
    await sleep(1500);
    await w.stop();
    const [last] = (await app.query<{ ts: Date }>("SELECT max(pg_xact_commit_timestamp(xmin)) AS ts FROM events")).rows;
    const lostAt = last!.ts.getTime();
    // The server is lost right after its last commit: only what reached the archive survives.
    const pidFile = join(dirname(provider.adminEndpoint()!.socketDir), "data", "postmaster.pid");
    process.kill(Number(readFileSync(pidFile, "utf8").split("\n")[0]), "SIGKILL");
    const restored = await provider.restore("db", { kind: "latest" }, { mode: "keep", fromArchive: true });
    const copy = await connect(`postgresql://db:${encodeURIComponent(password)}@127.0.0.1:${restored.port}/db`);
    const [r] = (await copy.query<{ ts: Date }>("SELECT max(pg_xact_commit_timestamp(xmin)) AS ts FROM events")).rows;
    const rpoMs = lostAt - r!.ts.getTime();
    console.log(`measured RPO: ${rpoMs} ms (archive_timeout ${provider.archiveTimeoutMs} ms)`);
    assert.ok(rpoMs >= 0 && rpoMs <= 60_000, `RPO ${rpoMs} ms`);
    await copy.end();
    await provider.discardRestore(restored.restore);
  });
});
