/**
 * `berth status --json` (the compiled CLI) lists each environment's databases and key-value
 * stores with their state and address, against a daemon that provisioned a real PostgreSQL and
 * Redis; never a password or a connection URL. A stopped environment's datastores say `stopped`.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { MemoryEngine } from "../../src/engine/memory/memory-engine.ts";
import { berth } from "../helpers/cli.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";

const BLUEPRINT = `version: 1
project: ledger
services:
  api:
    type: web
    start: node server.js
    env:
      DATABASE_URL: { fromDatabase: db.connectionString }
      REDIS_URL: { fromKeyValue: cache.url }
databases:
  db: { postgres: 15, pooled: true }
keyValues:
  cache: { redis: 7, persistence: none }
`;

interface Datastore {
  name: string;
  kind: string;
  version: string;
  state: string;
  address: string | null;
  pooledAddress: string | null;
}
type Status = { environments: { project: string; name: string; databases: Datastore[]; keyValues: Datastore[] }[] };

const reachable = (address: string) =>
  new Promise<boolean>((resolve) => {
    const [host, port] = address.split(":");
    const c = connect(Number(port), host!, () => {
      c.end();
      resolve(true);
    });
    c.on("error", () => resolve(false));
  });

describe("status --json with datastores", () => {
  let t: TestDaemon;
  let env: Record<string, string>;
  before(async () => {
    t = await startTestDaemon({ listen: true, engine: ({ bus, openEnv }) => new MemoryEngine({ events: bus, openEnv }) });
    env = { BERTH_URL: t.daemon.url, BERTH_TOKEN: t.token };
    const dir = writeProject(join(tempDir(), "ledger"), BLUEPRINT, { "server.js": "" });
    assert.equal((await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir })).status, 202);
    await t.daemon.reconciler.whenIdle();
  });
  after(() => t.close());

  test("running datastores with their addresses, and no secret anywhere", async () => {
    const r = await berth(["status", "--json"], { env });
    assert.equal(r.status, 0, r.stderr);
    const [ledger] = (JSON.parse(r.stdout) as Status).environments;
    const db = ledger!.databases[0]!;
    assert.deepEqual([db.name, db.kind, db.state], ["db", "postgres", "running"]);
    assert.match(db.address!, /^127\.0\.0\.1:\d+$/);
    assert.match(db.pooledAddress!, /^127\.0\.0\.1:\d+$/);
    const kv = ledger!.keyValues[0]!;
    assert.deepEqual([kv.name, kv.kind, kv.version, kv.state], ["cache", "redis", "7", "running"]);
    for (const a of [db.address!, db.pooledAddress!, kv.address!]) assert.ok(await reachable(a), `${a} answers`);
    assert.doesNotMatch(r.stdout, /postgres(ql)?:\/\/|redis:\/\/|password/i);
    const human = await berth(["status"], { env });
    assert.match(human.stdout, /db\s+postgres \d+\s+-\s+-\s+running 127\.0\.0\.1:\d+, pooled 127\.0\.0\.1:\d+/);
    assert.match(human.stdout, /cache\s+redis 7\s+-\s+-\s+running 127\.0\.0\.1:\d+/);
  });

  test("a stopped environment's datastores are stopped, without addresses", async () => {
    assert.equal((await t.request("DELETE", "/v1/projects/ledger/environments/production")).status, 202);
    await t.daemon.reconciler.whenIdle();
    const r = await berth(["status", "--json"], { env });
    const [ledger] = (JSON.parse(r.stdout) as Status).environments;
    assert.deepEqual(
      [...ledger!.databases, ...ledger!.keyValues].map((d) => [d.name, d.state, d.address]),
      [
        ["db", "stopped", null],
        ["cache", "stopped", null],
      ],
    );
  });
});
