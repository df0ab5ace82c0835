import assert from "node:assert/strict";
import { test } from "node:test";
import { psqlCommand, redisCliCommand, runClient } from "./data-clients.ts";

const PG = { resource: "db", url: "postgresql://app:s%3Ecret@127.0.0.1:5433/shop", host: "127.0.0.1", port: 5433, user: "app", database: "shop", pooledUrl: null };
const KV = { resource: "cache", url: "redis://default:p%40ss@127.0.0.1:6380", host: "127.0.0.1", port: 6380, user: "default", database: null, pooledUrl: null };

test("psql gets the connection through PG* variables; the password never reaches argv", () => {
  const c = psqlCommand(PG, ["-c", "select 1"], {});
  assert.equal(c.program, "psql");
  assert.deepEqual(c.args, ["-c", "select 1"]);
  assert.deepEqual(c.env, { PGHOST: "127.0.0.1", PGPORT: "5433", PGUSER: "app", PGDATABASE: "shop", PGPASSWORD: "s>cret", PGAPPNAME: "berth-db-psql" });
  assert.equal(psqlCommand(PG, [], { BERTH_PSQL: "/opt/pg/bin/psql" }).program, "/opt/pg/bin/psql");
});

test("redis-cli gets the password through REDISCLI_AUTH, not -a", () => {
  const c = redisCliCommand(KV, ["ping"], {});
  assert.deepEqual(c.args, ["-h", "127.0.0.1", "-p", "6380", "--user", "default", "ping"]);
  assert.deepEqual(c.env, { REDISCLI_AUTH: "p@ss" });
  assert.ok(!c.args.join(" ").includes("p@ss"));
});

test("a missing client is a catalogue error naming the override variable", async () => {
  await assert.rejects(runClient({ ...psqlCommand(PG, [], {}), program: "/nonexistent/psql" }, "pipe"), (e: Error & { code?: string }) => {
    assert.equal(e.code, "BERTH_DATACLI_CLIENT_MISSING");
    assert.match(e.message, /not found on PATH/);
    return true;
  });
});
