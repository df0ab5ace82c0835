/**
 * Acceptance (issue 14): `berth db upgrade` moves a PostgreSQL 15 database (the distribution's
 * server) to 16 (the npm server build, installed into an empty tool cache): a new server, the
 * data and the role's password copied and compared table by table, the old server kept.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { PostgresProvider } from "../../src/data/postgres/provider.ts";
import { freshPgTools, RecordingSink, tempRoot } from "./helpers.ts";

describe("berth db upgrade 15 -> 16", () => {
  const root = tempRoot("berth-upgrade-");
  const events = new RecordingSink();
  let provider: PostgresProvider;
  let password = "";
  let oldUrl = "";

  before(async () => {
    provider = new PostgresProvider({ environment: "test", rootDir: join(root.dir, "pg"), storeDir: join(root.dir, "store"), events, archiveTimeoutMs: 5000, tools: await freshPgTools(root.dir) });
    const p = await provider.provision({ name: "db", version: 15 });
    password = p.connection.password;
    oldUrl = p.connection.connectionString;
    const c = new pg.Client({ connectionString: oldUrl });
    await c.connect();
    await c.query("CREATE TABLE books (id serial PRIMARY KEY, title text NOT NULL UNIQUE, read_at timestamptz)");
    await c.query("INSERT INTO books (title) SELECT 'book ' || g FROM generate_series(1, 5000) g");
    await c.query("CREATE VIEW unread AS SELECT * FROM books WHERE read_at IS NULL");
    await c.end();
  });

  after(async () => {
    await provider?.stop();
    root.cleanup();
  });

  test("the data moves to a new 16 server, the app's password still works, the old server is kept", async () => {
    const t0 = Date.now();
    const steps: string[] = [];
    const r = await provider.upgrade("db", 16, (step) => steps.push(step));
    console.log(`upgrade 15 -> 16 (5000 rows, tool cache empty) in ${Date.now() - t0} ms`);
    assert.equal(r.from, 15);
    assert.equal(r.to, 16);
    assert.deepEqual([...new Set(steps)], ["install", "create", "copy", "verify", "promote"]);
    const conn = await provider.connection("db", password);
    assert.equal(conn.port, r.port);
    const c = new pg.Client({ connectionString: conn.connectionString });
    await c.connect();
    try {
      assert.match((await c.query<{ v: string }>("SELECT version() AS v")).rows[0]!.v, /^PostgreSQL 16\./);
      assert.equal(Number((await c.query("SELECT count(*) AS n FROM unread")).rows[0].n), 5000);
      await c.query("INSERT INTO books (title) VALUES ('written on 16')"); // the app owns its tables there
      await assert.rejects(c.query("INSERT INTO books (title) VALUES ('book 1')"), /duplicate key/); // constraints came along
    } finally {
      await c.end();
    }
    const list = await provider.list();
    assert.equal(list[0]?.version, 16);
    assert.ok(list[0]!.servers.some((s) => s.instance === r.previous && s.role !== "live"), "the old server is listed");
    assert.ok(existsSync(join(root.dir, "pg", "instances", r.previous, "data", "PG_VERSION")), "the old server's directory is kept");
    // The old server is read-only for instances still on it.
    const o = new pg.Client({ connectionString: oldUrl });
    await o.connect().then(
      async () => {
        await assert.rejects(o.query("INSERT INTO books (title) VALUES ('lost')"), /read-only/);
        await o.end();
      },
      () => {}, // already retired: nobody used it
    );
    // The new server's history starts with a verified base backup; a drill passes on it.
    assert.ok((await provider.backups("db")).some((b) => b.store === r.instance && b.verified));
    assert.equal((await provider.drill("db")).ok, true);
  });

  test("downgrades and the same major are refused", async () => {
    await assert.rejects(provider.upgrade("db", 15), /older than the 16/);
    await assert.rejects(provider.upgrade("db", 16), /already on PostgreSQL 16/);
  });

  test("a daemon that died mid-upgrade: the next one makes the server writable again and removes the half-made server", async () => {
    const conn = await provider.connection("db", password);
    const admin = provider.adminEndpoint()!;
    const su = new pg.Client({ host: admin.socketDir, port: admin.port, user: "postgres", database: "postgres" });
    await su.connect();
    await su.query("ALTER DATABASE db SET default_transaction_read_only = on");
    await su.end();
    await provider.stop();
    // What the dead daemon left: the marker, and the new server's directory.
    const stateFile = join(root.dir, "pg", "state.json");
    const state = JSON.parse(readFileSync(stateFile, "utf8"));
    writeFileSync(stateFile, JSON.stringify({ ...state, upgrading: { instance: "pg_half", databases: ["db"] } }));
    mkdirSync(join(root.dir, "pg", "instances", "pg_half", "data"), { recursive: true });
    const successorEvents = new RecordingSink();
    provider = new PostgresProvider({ environment: "test", rootDir: join(root.dir, "pg"), storeDir: join(root.dir, "store"), events: successorEvents, archiveTimeoutMs: 5000, tools: await freshPgTools(root.dir) });
    await provider.provision({ name: "db", version: 16 }, { password });
    const c = new pg.Client({ connectionString: conn.connectionString });
    await c.connect();
    await c.query("INSERT INTO books (title) VALUES ('writable again')");
    await c.end();
    assert.equal(existsSync(join(root.dir, "pg", "instances", "pg_half")), false);
    assert.ok(successorEvents.of("data:warning").some((e) => /interrupted upgrade was undone/.test(e.data.message)));
    assert.equal(JSON.parse(readFileSync(stateFile, "utf8")).upgrading, undefined);
  });
});
