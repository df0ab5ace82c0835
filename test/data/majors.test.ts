/**
 * Acceptance (issue 14, PostgreSQL majors): a database asking for PostgreSQL 16 gets 16 — the
 * npm server build, installed from the registry into an empty tool cache as a daemon's first
 * run does — with verified base backups (the low-level API, Berth's manifest), a point-in-time
 * restore and a drill passing on it; a damaged low-level backup fails verification; a major
 * Berth cannot provide fails with a clear error; a blueprint asking another major than the
 * server runs changes nothing.
 */
import assert from "node:assert/strict";
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { parseBlueprint } from "../../src/blueprint/parse.ts";
import { isBerthError } from "../../src/core/errors.ts";
import { ResourceManager } from "../../src/reconcile/resources.ts";
import { LOWLEVEL_MANIFEST } from "../../src/data/postgres/lowlevel-backup.ts";
import { PostgresProvider } from "../../src/data/postgres/provider.ts";
import { freshPgTools, RecordingSink, sleep, tempRoot } from "./helpers.ts";

describe("postgres 16 from the npm server build", () => {
  const root = tempRoot("berth-pg16-");
  const events = new RecordingSink();
  let provider: PostgresProvider;
  let url = "";
  let password = "";
  const clients: pg.Client[] = [];
  const connect = async (connectionString: string) => {
    const c = new pg.Client({ connectionString });
    c.on("error", () => {});
    await c.connect();
    clients.push(c);
    return c;
  };

  before(async () => {
    provider = new PostgresProvider({ environment: "test", rootDir: join(root.dir, "pg"), storeDir: join(root.dir, "store"), events, archiveTimeoutMs: 5000, random: () => 0.999, tools: await freshPgTools(root.dir) });
    const t0 = Date.now();
    const p = await provider.provision({ name: "db", version: 16 });
    console.log(`provisioned PostgreSQL 16 from an empty tool cache in ${Date.now() - t0} ms`);
    url = p.connection.connectionString;
    password = p.connection.password;
    assert.equal(p.version, "16");
    assert.deepEqual(events.of("data:installing").map((e) => e.data.major), [16], "the first use says it installs");
    const c = await connect(url);
    await c.query("CREATE TABLE events (id bigserial PRIMARY KEY, note text NOT NULL)");
    await c.query("INSERT INTO events (note) SELECT md5(g::text) FROM generate_series(1, 2000) g");
  });

  after(async () => {
    for (const c of clients) await c.end().catch(() => {});
    await provider?.stop();
    root.cleanup();
  });

  test("SELECT version() says 16; berth db list shows 16", async () => {
    const c = await connect(url);
    const [r] = (await c.query<{ version: string }>("SELECT version()")).rows;
    assert.match(r!.version, /^PostgreSQL 16\./);
    assert.equal((await provider.list())[0]?.version, 16);
    assert.equal(events.of("data:warning").length, 0, "no substitution warning");
  });

  test("a base backup through the low-level API is verified against Berth's manifest", async () => {
    const t0 = Date.now();
    const b = await provider.backup("db");
    console.log(`low-level base backup: ${b.sizeBytes} bytes in ${Date.now() - t0} ms`);
    assert.equal(b.verified, true);
    assert.ok(b.startWal && b.endLsn, "start segment and end LSN recorded");
    assert.ok(existsSync(join(b.path, LOWLEVEL_MANIFEST)) && existsSync(join(b.path, "backup_label")));
    assert.ok(readdirSync(join(b.path, "pg_wal")).some((f) => f === b.startWal), "the WAL it needs is inside it");
  });

  test("restore to a time T holds every row committed up to T and none after (PITR on 16)", async () => {
    const app = await connect(url);
    await app.query("INSERT INTO events (note) VALUES ('before T')");
    await sleep(50);
    const t = new Date().toISOString();
    await sleep(50);
    await app.query("INSERT INTO events (note) VALUES ('after T')");
    const t0 = Date.now();
    const restored = await provider.restore("db", { kind: "time", at: t }, { mode: "keep" });
    console.log(`PITR restore on 16 in ${Date.now() - t0} ms (restore ${restored.ms} ms)`);
    const copy = await connect(`postgres://db:${encodeURIComponent(password)}@127.0.0.1:${restored.port}/db`);
    assert.match((await copy.query<{ v: string }>("SELECT version() AS v")).rows[0]!.v, /^PostgreSQL 16\./);
    const notes = (await copy.query<{ note: string }>("SELECT note FROM events WHERE note IN ('before T', 'after T')")).rows.map((r) => r.note);
    assert.deepEqual(notes, ["before T"]);
    assert.equal(Number((await copy.query("SELECT count(*) AS n FROM events")).rows[0].n), 2001);
    await copy.end();
    await provider.discardRestore(restored.restore);
  });

  test("a drill passes on 16: the WAL window's segment headers, amcheck over SQL, every table compared", async () => {
    const d = await provider.drill("db");
    console.log(`drill on 16: RTO ${d.rtoMs} ms, RPO ${d.rpoMs} ms: ${d.detail}`);
    assert.equal(d.ok, true);
    assert.equal(d.tables, 1);
    assert.match(d.detail, /amcheck clean/);
    assert.ok(d.walChecked && d.walChecked.segments >= 1);
  });

  test("berth db dump says pg_dump is not available for the npm build, loudly", async () => {
    await assert.rejects(provider.dump("db"), (e) => isBerthError(e) && e.code === "BERTH_DATA_TOOL_UNAVAILABLE" && /pg_dump/.test(e.message));
    assert.ok(events.of("backup:failed").some((e) => /pg_dump/.test(e.data.reason)));
  });

  test("the admin psql is the distribution's (it talks to a newer server)", () => {
    const admin = provider.adminEndpoint()!;
    assert.ok(existsSync(admin.psql), admin.psql);
  });

  test("a damaged low-level backup fails verification and the drill, loudly", async () => {
    const backup = await provider.backup("db");
    const files = readdirSync(join(backup.path, "base"), { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && /^\d+$/.test(e.name));
    const biggest = files.map((e) => join(e.parentPath, e.name)).sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
    appendFileSync(biggest, Buffer.alloc(8192, 0xff));
    await provider.recordPoint("db");
    await assert.rejects(provider.drill("db"), (e) => isBerthError(e) && e.code === "BERTH_DATA_DRILL_FAILED" && /size|checksum/i.test(e.message));
    assert.match(events.of("drill:failed").at(-1)!.data.reason, /BERTH_DATA_BACKUP_CORRUPT/);
  });

  test("a blueprint asking another major changes nothing: the server keeps 16 and says how to upgrade", async () => {
    await provider.provision({ name: "db", version: 17 }, { password });
    const c = await connect(url);
    assert.match((await c.query<{ v: string }>("SELECT version() AS v")).rows[0]!.v, /^PostgreSQL 16\./);
    assert.ok(events.of("data:warning").some((e) => /berth db upgrade db --to 17/.test(e.data.message)));
  });
});

describe("seeds 000 and 003 as their examples are written: PostgreSQL 16, backed up and drilled", () => {
  const root = tempRoot("berth-pgseeds-");
  let tools: Awaited<ReturnType<typeof freshPgTools>>;
  before(async () => {
    tools = await freshPgTools(root.dir);
  });
  after(() => root.cleanup());

  for (const example of ["trip-playlists", "book-tracker"]) {
    test(`examples/${example}: the blueprint asks for 16 and SELECT version() says 16; backup and drill pass`, async () => {
      const file = join(import.meta.dirname, "..", "..", "examples", example, "berth.yaml");
      const parsed = parseBlueprint(readFileSync(file, "utf8"), { file });
      assert.ok(parsed.ok);
      const db = parsed.blueprint.databases[0]!;
      assert.equal(db.version, 16);
      const events = new RecordingSink();
      const provider = new PostgresProvider({ environment: example, rootDir: join(root.dir, example, "pg"), storeDir: join(root.dir, example, "store"), events, archiveTimeoutMs: 5000, random: () => 0.999, tools });
      try {
        const p = await provider.provision(ResourceManager.postgresInput(db));
        const c = new pg.Client({ connectionString: p.connection.connectionString });
        await c.connect();
        try {
          assert.match((await c.query<{ v: string }>("SELECT version() AS v")).rows[0]!.v, /^PostgreSQL 16\./);
          await c.query("CREATE TABLE t (id serial PRIMARY KEY, v text)");
          await c.query("INSERT INTO t (v) SELECT md5(g::text) FROM generate_series(1, 500) g");
        } finally {
          await c.end();
        }
        assert.equal((await provider.backup(db.name)).verified, true);
        const d = await provider.drill(db.name);
        assert.equal(d.ok, true);
        assert.equal(d.tables, 1);
        console.log(`${example}: drill on 16 RTO ${d.rtoMs} ms`);
      } finally {
        await provider.stop();
      }
    });
  }
});

describe("majors Berth cannot provide", () => {
  test("PostgreSQL 13 fails with a clear error naming the majors Berth provides", async () => {
    const root = tempRoot("berth-pg13-");
    const provider = new PostgresProvider({ environment: "test", rootDir: join(root.dir, "pg"), storeDir: join(root.dir, "store"), events: new RecordingSink(), monitorIntervalMs: 0 });
    try {
      await assert.rejects(provider.provision({ name: "db", version: 13 }), (e) => isBerthError(e) && e.code === "BERTH_DATA_MAJOR_UNAVAILABLE" && /PostgreSQL 13 cannot be provided for 'db': Berth provides PostgreSQL 14, 15, 16, 17, 18/.test(e.message));
      // Without a tool cache, 16 cannot come from the npm registry: said, not substituted.
      await assert.rejects(provider.provision({ name: "db", version: 16 }), (e) => isBerthError(e) && e.code === "BERTH_DATA_MAJOR_UNAVAILABLE" && /no tool cache/.test(e.message));
    } finally {
      await provider.stop();
      root.cleanup();
    }
  });
});
