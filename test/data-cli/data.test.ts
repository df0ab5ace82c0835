/**
 * The data CLI end to end: `berth db ...` / `berth kv ...` as separate processes against a real
 * daemon (memory engine) that provisions a real PostgreSQL and Redis. The tests run in order
 * and share the daemon: provision, access control, backup, drill, restore + promote, clients.
 */
import assert from "node:assert/strict";
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { MemoryEngine } from "../../src/engine/memory/memory-engine.ts";
import { type CliRun, berth as runBerth, scratch } from "../helpers/cli.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";

const BLUEPRINT = `version: 1
project: shop
services:
  api:
    type: web
    start: node server.js
    env:
      DATABASE_URL: { fromDatabase: db.connectionString }
      REDIS_URL: { fromKeyValue: cache.url }
  worker:
    type: worker
    start: node worker.js
databases:
  db: { postgres: 15 }
keyValues:
  cache: { redis: 7, maxmemory: 64mb, eviction: allkeys-lru, persistence: none }
`;

describe("berth db / berth kv through the daemon", () => {
  let t: TestDaemon;
  let viewer: string;
  let projectDir: string;
  const seen: Record<string, string>[] = [];
  // The compiled CLI (bin/berth) as users run it, in a private scratch world.
  const world = scratch("berth-data-cli-");
  const berth = (args: string[], token = t.token): Promise<CliRun> => {
    // Options go before a `--`: what follows belongs to psql / redis-cli.
    const cut = args.includes("--") ? args.indexOf("--") : args.length;
    const argv = [...args.slice(0, cut), "--project", "shop", "--env", "production", ...args.slice(cut)];
    return runBerth(argv, { scratch: world, env: { BERTH_URL: t.daemon.url, BERTH_TOKEN: token, BERTH_CLI_CONFIG: "/nonexistent/cli.json" } });
  };
  const apiUrl = () => seen.filter((e) => e.DATABASE_URL).at(-1)!.DATABASE_URL!;
  const query = async (url: string, sql: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.end();
    }
  };

  before(async () => {
    t = await startTestDaemon({
      listen: true,
      engine: ({ bus, openEnv }) =>
        new MemoryEngine({
          events: bus,
          openEnv,
          startBehaviour: (_spec, _release, env) => {
            seen.push({ ...env });
            return "run";
          },
        }),
    });
    viewer = t.daemon.store.tokens.create({ name: "watcher", role: "viewer" }, new Date().toISOString()).token;
    projectDir = writeProject(join(tempDir(), "shop"), BLUEPRINT, { "server.js": "", "worker.js": "" });
    const res = await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: projectDir });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    await t.daemon.reconciler.whenIdle();
    await query(apiUrl(), "CREATE TABLE items (id int PRIMARY KEY, note text)");
  });
  after(async () => {
    await t?.close();
    rmSync(join(world.dir, ".."), { recursive: true, force: true });
    if (projectDir) rmSync(join(projectDir, ".."), { recursive: true, force: true });
  });

  test("db list shows the database and the key-value store to a viewer", async () => {
    const r = await berth(["db", "list", "--json"], viewer);
    assert.equal(r.status, 0, r.stderr);
    const list = JSON.parse(r.stdout);
    assert.equal(list.databases[0].resource, "db");
    assert.equal(list.databases[0].running, true);
    assert.equal(list.keyValues[0].resource, "cache");
    const human = await berth(["db", "list"], viewer);
    assert.match(human.stdout, /^db\s+postgres 15/m);
    assert.match(human.stdout, /ARCHIVE LAG\s+LAST GOOD BACKUP/);
    assert.ok(["ok", "behind", "unknown"].includes(list.databases[0].archiving), r.stdout);
    assert.deepEqual(
      list.databases[0].servers.map((s: { role: string }) => s.role),
      ["live"],
    );
  });

  test("a viewer cannot get the URL; the owner gets a working one and the read is audited", async () => {
    const denied = await berth(["db", "url", "db"], viewer);
    assert.equal(denied.status, 3);
    assert.match(denied.stderr, /BERTH_FORBIDDEN/);
    assert.equal(denied.stdout, "");
    const r = await berth(["db", "url"]);
    assert.equal(r.status, 0, r.stderr);
    const url = r.stdout.trim();
    assert.equal(url, apiUrl(), "the URL the services get, unmasked");
    assert.deepEqual(await query(url, "SELECT 1 AS one"), [{ one: 1 }]);
    const legacy = await berth(["db", "url", "--scheme", "postgres"]);
    assert.match(legacy.stdout, /^postgres:\/\//);
    const audit = await t.request("GET", "/v1/audit?limit=50");
    assert.ok(JSON.stringify(audit.json).includes("/databases/db/url"), JSON.stringify(audit.json).slice(0, 500));
  });

  test("db backup takes a verified backup with progress, and db backups lists it", async () => {
    const r = await berth(["db", "backup", "db"]);
    assert.equal(r.status, 0, r.stderr);
    const id = r.stdout.trim();
    assert.match(id, /^b-/);
    assert.match(r.stderr, /backup .* done, \d+ bytes, verified/);
    const list = await berth(["db", "backups", "--json"], viewer);
    assert.equal(list.status, 0, list.stderr);
    const backups = JSON.parse(list.stdout).backups as { id: string; verified: boolean; kind: string }[];
    assert.ok(backups.some((b) => b.id === id && b.verified && b.kind === "base"), list.stdout);
    assert.equal(JSON.stringify(backups).includes("path"), false, "store paths stay on the server");
  });

  test("a viewer may not take a backup (deployer role)", async () => {
    const r = await berth(["db", "backup"], viewer);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /BERTH_FORBIDDEN/);
  });

  test("db drill restores a recent point into a scratch instance and verifies it", async () => {
    await query(apiUrl(), "INSERT INTO items SELECT g, 'drill' FROM generate_series(1000, 1099) g");
    const r = await berth(["db", "drill", "--json"]);
    assert.equal(r.status, 0, r.stderr);
    const d = JSON.parse(r.stdout);
    assert.equal(d.ok, true);
    assert.ok(d.tables >= 1, r.stdout);
    const list = JSON.parse((await berth(["db", "backups", "--json"])).stdout);
    assert.ok(list.drills.some((x: { id: string; ok: boolean }) => x.id === d.id && x.ok));
  });

  test("db restore --to a time promotes a new server: services switch DATABASE_URL, old data kept", async () => {
    const before = apiUrl();
    const apiStartsBefore = seen.filter((e) => e.DATABASE_URL).length;
    const pgRoot = join(t.dataDir, "resources", "shop", "production", "postgres");
    const oldLive = JSON.parse(readFileSync(join(pgRoot, "state.json"), "utf8")).live as string;
    await query(before, "INSERT INTO items VALUES (1, 'before T')");
    const [{ at }] = await query(before, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS at");
    await new Promise((r) => setTimeout(r, 1100));
    await query(before, "INSERT INTO items VALUES (2, 'after T')");

    const r = await berth(["db", "restore", "db", "--to", at]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /restoring to/);
    assert.match(r.stderr, /api switched over; the previous data directory is kept/);
    assert.match(r.stderr, /promoted \(rst-[0-9a-z]+, port \d+/, "the restore id is not masked as a secret");

    const after = apiUrl();
    assert.notEqual(after, before, "the service was restarted with the new server's URL");
    assert.notEqual(new URL(after).port, new URL(before).port);
    assert.equal(new URL(after).password, new URL(before).password);
    const rows = await query(after, "SELECT id FROM items WHERE id < 1000 ORDER BY id");
    assert.deepEqual(rows, [{ id: 1 }], "every commit up to T, none after");
    // The old server's data directory is still there, untouched.
    assert.ok(existsSync(join(pgRoot, "instances", oldLive, "data", "PG_VERSION")));
    assert.ok(readdirSync(join(pgRoot, "instances")).length >= 2);
    // The worker does not use the database: it was not rolled.
    const workers = seen.filter((e) => !e.DATABASE_URL);
    assert.equal(workers.length, 1);
    // One rolling restart of api; a later sync of the same blueprint records the same digest
    // (the switch is part of the env version), so it rolls nothing again.
    const starts = seen.filter((e) => e.DATABASE_URL).length;
    assert.equal(starts, apiStartsBefore + 1);
    const res = await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: projectDir });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    await t.daemon.reconciler.whenIdle();
    assert.equal(seen.filter((e) => e.DATABASE_URL).length, starts, "no second roll");
    const status = await t.request("GET", "/v1/projects/shop/environments/production");
    assert.equal(status.json.status, "live");
  });

  test("db restore --keep leaves a second server beside the live one", async () => {
    const live = apiUrl();
    const r = await berth(["db", "restore", "--to", "latest", "--keep", "--json"]);
    assert.equal(r.status, 0, r.stderr);
    const k = JSON.parse(r.stdout);
    assert.equal(k.mode, "keep");
    assert.deepEqual(k.rolling, []);
    assert.notEqual(String(k.port), new URL(live).port);
    assert.equal(apiUrl(), live, "services untouched");
  });

  test("db restore fails loudly on a bad target and on an unknown database", async () => {
    const bad = await berth(["db", "restore", "--to", "yesterday-ish"]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /BERTH_DATA_RESTORE_TARGET_INVALID/);
    const early = await berth(["db", "restore", "--to", "2001-01-01T00:00:00Z"]);
    assert.equal(early.status, 2);
    assert.match(early.stderr, /before the earliest backup/);
    for (const r of [bad, early]) assert.doesNotMatch(r.stderr, /\{\w+\}/, "hints are filled in, no {placeholders}");
    const none = await berth(["db", "backups", "nosuch"]);
    assert.equal(none.status, 4);
    assert.match(none.stderr, /declared in shop\/production: db.*nosuch.*BERTH_NOT_FOUND/);
    const viewerRestore = await berth(["db", "restore", "--to", "latest"], viewer);
    assert.equal(viewerRestore.status, 3);
  });

  test("db psql runs psql with the connection in its environment", async () => {
    const r = await berth(["db", "psql", "--", "-tAc", "SELECT count(*) FROM items WHERE id < 1000"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "1");
    const failing = await berth(["db", "psql", "db", "--", "-tAc", "SELECT * FROM nosuch"]);
    assert.notEqual(failing.status, 0, "psql's failure is the command's failure");
  });

  test("db drill exits non-zero, loudly, when the backup it restores is corrupt", async () => {
    // A passing drill first leaves a verification point from before the damaged backup: drills
    // that reused a recent point restored the older, intact backup and passed (exit 0).
    assert.equal((await berth(["db", "backup"])).status, 0);
    const passed = await berth(["db", "drill"]);
    assert.equal(passed.status, 0, passed.stderr);
    const taken = await berth(["db", "backup", "--json"]);
    assert.equal(taken.status, 0, taken.stderr);
    const id = JSON.parse(taken.stdout).id as string;
    const stores = join(t.dataDir, "backups", "shop", "production", "postgres");
    const dir = readdirSync(stores, { recursive: true, withFileTypes: true }).find((e) => e.isDirectory() && e.name === id)!;
    // Flip bytes in the largest relation file of the backup, as a bad disk would.
    const files = readdirSync(join(dir.parentPath, id, "base"), { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && /^\d+$/.test(e.name));
    const biggest = files.map((e) => join(e.parentPath, e.name)).sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
    appendFileSync(biggest, Buffer.alloc(8192, 0xff));
    const r = await berth(["db", "drill"]);
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stderr, /drill FAILED/);
    assert.match(r.stderr, /BERTH_DATA_DRILL_FAILED/);
    assert.doesNotMatch(r.stderr, /\{\w+\}/);
    const list = JSON.parse((await berth(["db", "backups", "--json"])).stdout);
    assert.equal(list.drills.at(-1).ok, false);
    const marked = list.backups.find((b: { id: string }) => b.id === id);
    assert.equal(marked.verified, false, "the damaged backup is no longer listed as verified");
    assert.match(marked.failure, /verif/);
  });

  test("data events are scoped to their project: a token of another project sees none of them", async () => {
    const now = new Date().toISOString();
    const own = t.daemon.store.tokens.create({ name: "shop-viewer", role: "viewer", projects: ["shop"] }, now).token;
    const other = t.daemon.store.tokens.create({ name: "other-viewer", role: "viewer", projects: ["other"] }, now).token;
    const events = async (token: string) => {
      const res = await fetch(`${t.daemon.url}/v1/events?limit=1000`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      return ((await res.json()) as { type: string; scope: { project?: string; environment?: string } }[]).filter((e) => /^(backup|restore|drill|data|operation):/.test(e.type));
    };
    const mine = await events(own);
    for (const type of ["backup:completed", "drill:passed", "drill:failed", "restore:completed"]) assert.ok(mine.some((e) => e.type === type), `${type} in ${[...new Set(mine.map((e) => e.type))].join(", ")}`);
    for (const e of mine) assert.deepEqual([e.scope.project, e.scope.environment], ["shop", "production"], JSON.stringify(e));
    assert.deepEqual(await events(other), []);
  });

  test("kv info shows the blueprint's memory settings; kv cli talks to the store", async () => {
    const r = await berth(["kv", "info", "--json"], viewer);
    assert.equal(r.status, 0, r.stderr);
    const { info } = JSON.parse(r.stdout);
    assert.equal(info.maxmemory, String(64 * 1024 * 1024));
    assert.equal(info["maxmemory-policy"], "allkeys-lru");
    const cli = await berth(["kv", "cli", "cache", "--", "ping"]);
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal(cli.stdout.trim(), "PONG");
    assert.equal((await berth(["kv", "cli", "--", "ping"], viewer)).status, 3);
  });
});
