/**
 * A live server that dies or loses its data, on a real PostgreSQL: kill -9 of the postmaster is
 * an alert and it is back within seconds; a deleted data directory is an alert and a stop, never
 * an empty database in its place, and `restore --from-archive` brings back everything archived.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { isBerthError } from "../../src/core/errors.ts";
import { PostgresProvider } from "../../src/data/postgres/provider.ts";
import { RecordingSink, sleep, tempRoot } from "./helpers.ts";

/** Polls until `probe` is true; the deadline only turns a hang into a failure. */
async function until(probe: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<number> {
  const t0 = Date.now();
  while (!(await probe())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
  return Date.now() - t0;
}

describe("postgres: a dead postmaster, a lost data directory", () => {
  const root = tempRoot("berth-lost-");
  const events = new RecordingSink();
  const opts = { environment: "test", rootDir: join(root.dir, "pg"), storeDir: join(root.dir, "store"), events, archiveTimeoutMs: 1000, monitorIntervalMs: 200 };
  const provider = new PostgresProvider(opts);
  let password = "";
  const query = async (sql: string) => {
    const c = new pg.Client({ connectionString: (await provider.connection("db", password)).connectionString });
    c.on("error", () => {});
    await c.connect();
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.end().catch(() => {});
    }
  };
  const dataDir = () => join(dirname(provider.adminEndpoint()!.socketDir), "data");
  const postmaster = (dir = dataDir()) => Number(readFileSync(join(dir.endsWith("/data") ? dir : join(dir, "data"), "postmaster.pid"), "utf8").split("\n")[0]);

  before(async () => {
    password = (await provider.provision({ name: "db" })).connection.password;
    await query("CREATE TABLE t (id int PRIMARY KEY)");
    await provider.backup("db");
  });
  after(async () => {
    await provider.stop();
    root.cleanup();
  });

  test("a daemon restart adopts the live server and a kept restore (no restart, same pids)", async () => {
    const kept = await provider.restore("db", { kind: "latest" }, { mode: "keep" });
    const live = dataDir();
    const pids = [postmaster(live), postmaster(kept.dataDir)];
    provider.detach();
    const successor = new PostgresProvider(opts);
    try {
      await successor.provision({ name: "db" }, { password });
      assert.deepEqual([postmaster(live), postmaster(kept.dataDir)], pids);
      const servers = (await successor.list())[0]!.servers;
      assert.deepEqual(
        servers.map((s) => [s.role, s.running]),
        [
          ["live", true],
          ["kept", true],
        ],
      );
    } finally {
      successor.detach();
    }
    // The original provider takes the servers back (adopting them again) for the tests below.
    await provider.provision({ name: "db" }, { password });
    assert.deepEqual([postmaster(live), postmaster(kept.dataDir)], pids);
    await provider.discardRestore(kept.restore);
  });

  test("kill -9 of the postmaster: an alert at once, and the server is back", async () => {
    await query("INSERT INTO t SELECT generate_series(1, 100)");
    const dir = dataDir();
    const pid = postmaster(dir);
    process.kill(pid, "SIGKILL");
    const alertMs = await until(() => events.of("data:server:failed").length > 0, "the alert");
    const backMs = await until(async () => (await query("SELECT count(*)::int AS n FROM t").catch(() => []))[0]?.n === 100, "the server to answer again");
    console.log(`postmaster killed: alert after ${alertMs} ms, answering again after ${alertMs + backMs} ms`);
    assert.notEqual(postmaster(dir), pid);
    assert.match(events.of("data:server:failed")[0]!.data.detail, /exited/);
  });

  test("the data directory deleted: an alert and a stop, no initdb; --from-archive brings back everything archived", async () => {
    await query("INSERT INTO t SELECT generate_series(101, 200)");
    // Everything so far reaches the archive (archive_timeout is 1 s).
    await until(async () => (await provider.list())[0]!.archiveLagMs === 0, "the archive to catch up");
    const dir = dataDir();
    rmSync(dir, { recursive: true, force: true });
    await until(() => events.of("data:datadir:failed").length > 0, "the alert");
    assert.equal(events.of("data:datadir:failed")[0]!.data.reason, "missing");
    // The next reconcile refuses to create an empty database in its place.
    await assert.rejects(provider.provision({ name: "db" }, { password }), (e) => isBerthError(e) && e.code === "BERTH_DATA_DIR_LOST" && /--from-archive/.test(e.hint));
    assert.equal(existsSync(join(dir, "PG_VERSION")), false, "no initdb");
    assert.equal(events.of("data:datadir:failed").length, 1, "reported once");
    // A plain restore needs the live server; from the archive alone it does not.
    await assert.rejects(provider.restore("db", { kind: "latest" }, { mode: "promote" }), /not running/);
    const r = await provider.restore("db", { kind: "latest" }, { mode: "promote", fromArchive: true });
    assert.equal(r.mode, "promote");
    assert.deepEqual(await query("SELECT count(*)::int AS n, max(id) AS top FROM t"), [{ n: 200, top: 200 }]);
    // The database is provisioned again as usual (same password, same role).
    await provider.provision({ name: "db" }, { password });
    assert.deepEqual(await query("SELECT count(*)::int AS n FROM t"), [{ n: 200 }]);
  });
});
