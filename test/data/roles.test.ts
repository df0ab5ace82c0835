/**
 * Acceptance: the app role cannot create roles or databases, cannot read other databases,
 * cannot run superuser functions; the pooled URL goes through PgBouncer; the archive alert.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import type { Provisioned } from "../../src/data/provider.ts";
import { PostgresProvider } from "../../src/data/postgres/provider.ts";
import { RecordingSink, tempRoot } from "./helpers.ts";

describe("postgres least privilege and pooling", () => {
  const root = tempRoot("berth-roles-");
  const events = new RecordingSink();
  let skewMs = 0;
  const provider = new PostgresProvider({ environment: "test", rootDir: join(root.dir, "pg"), storeDir: join(root.dir, "store"), events, now: () => Date.now() + skewMs });
  let main: Provisioned;
  let other: Provisioned;
  let app: pg.Client;

  before(async () => {
    main = await provider.provision({ name: "app-db", pooled: true });
    other = await provider.provision({ name: "billing" });
    app = new pg.Client({ connectionString: main.connection.connectionString });
    app.on("error", () => {}); // the last test restarts the server under it
    await app.connect();
  });

  after(async () => {
    app?.on("error", () => {});
    await app?.end().catch(() => {});
    await provider.stop();
    root.cleanup();
  });

  test("connection properties describe a loopback database owned by its own role", () => {
    const c = main.connection;
    assert.equal(c.host, "127.0.0.1");
    assert.equal(c.database, "app_db");
    assert.equal(c.user, "app_db");
    assert.equal(c.password.length, 32);
    assert.match(c.connectionString, /^postgresql:\/\/app_db:[^@]+@127\.0\.0\.1:\d+\/app_db$/);
    assert.equal(JSON.stringify(events.events).includes(c.password), false, "password never in events");
  });

  test("the app role owns its schema but cannot create roles or databases", async () => {
    await app.query("CREATE TABLE mine (id int)");
    await assert.rejects(app.query("CREATE ROLE intruder"), /permission denied/);
    await assert.rejects(app.query("CREATE DATABASE other"), /permission denied/);
    await assert.rejects(app.query("ALTER ROLE app_db SUPERUSER"), /permission denied|must be superuser/);
  });

  test("the app role cannot run superuser functions", async () => {
    await assert.rejects(app.query("SELECT pg_read_file('/etc/passwd')"), /permission denied/);
    await assert.rejects(app.query("SELECT pg_ls_dir('.')"), /permission denied/);
    await assert.rejects(app.query("COPY (SELECT 1) TO PROGRAM 'true'"), /permission denied|must be superuser/);
  });

  test("the app role cannot connect to other databases", async () => {
    for (const db of [other.connection.database!, "postgres", "template1"]) {
      const c = new pg.Client({ ...main.connection, connectionString: undefined, database: db });
      await assert.rejects(c.connect(), /no pg_hba.conf entry|permission denied/);
    }
  });

  test("a wrong password is refused", async () => {
    const c = new pg.Client({ ...main.connection, connectionString: undefined, password: "wrong" });
    await assert.rejects(c.connect(), /password authentication failed/);
  });

  test("the pooled URL goes through PgBouncer to the same database", async () => {
    assert.ok(main.connection.pooledConnectionString);
    assert.notEqual(new URL(main.connection.pooledConnectionString).port, String(main.connection.port));
    const c = new pg.Client({ connectionString: main.connection.pooledConnectionString });
    await c.connect();
    const r = await c.query<{ db: string; u: string }>("SELECT current_database() AS db, current_user AS u");
    assert.deepEqual(r.rows[0], { db: "app_db", u: "app_db" });
    await c.end();
  });

  test("re-provisioning with the stored password keeps it working", async () => {
    const again = await provider.provision({ name: "app-db", pooled: true }, { password: main.connection.password });
    assert.equal(again.passwordGenerated, false);
    const c = new pg.Client({ connectionString: again.connection.connectionString });
    await c.connect();
    await c.end();
  });

  test("health reports the archive; a stale archive raises backup:archive:missed", async () => {
    const h = await provider.health("app-db");
    assert.equal(h.running, true);
    assert.equal(h.ok, true);
    await app.query("INSERT INTO mine VALUES (1)"); // WAL that is not archived yet
    skewMs = 10 * 60_000; // the clock says ten minutes passed without the archive moving
    try {
      const s = await provider.checkArchive("app-db");
      assert.equal(s.missed, true);
      assert.equal((await provider.health("app-db")).ok, false);
    } finally {
      skewMs = 0;
    }
    const missed = events.of("backup:archive:missed");
    assert.ok(missed.length >= 1);
    assert.equal(missed[0]!.data.limitMs, 2 * 60_000);
  });

  test("a restarted daemon takes over the servers its predecessor left running", async () => {
    const successor = new PostgresProvider({ environment: "test", rootDir: join(root.dir, "pg"), storeDir: join(root.dir, "store"), events });
    try {
      const p = await successor.provision({ name: "app-db", pooled: true }, { password: main.connection.password });
      assert.equal(p.connection.port, main.connection.port, "same port as before");
      assert.equal(p.connection.pooledConnectionString, main.connection.pooledConnectionString, "same pooled URL as before");
      for (const url of [p.connection.connectionString, p.connection.pooledConnectionString!]) {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        assert.equal((await c.query("SELECT count(*)::int AS n FROM mine")).rows[0].n, 1);
        await c.end();
      }
      assert.deepEqual(
        (await successor.list()).map((d) => d.resource),
        ["app-db", "billing"],
      );
    } finally {
      await successor.stop();
    }
  });
});
