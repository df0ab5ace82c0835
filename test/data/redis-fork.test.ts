/**
 * Issue 19, `fork` preview data for Redis, with real redis-server: the preview's own Redis gets
 * a copy of the parent's data (strings, hashes, lists, sets, TTLs) from one consistent RDB
 * snapshot taken over the replication protocol and loaded before anything uses it. The parent is
 * never touched: same keys and values, same server (pid), no RDB written into its directory, no
 * save counted, and its later writes do not reach the copy (nor the copy's writes the parent).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Redis } from "ioredis";
import { RedisProvider } from "../../src/data/redis/provider.ts";
import { RecordingSink, tempRoot } from "./helpers.ts";

describe("redis fork (preview data)", () => {
  const root = tempRoot("berth-redis-fork-");
  const events = new RecordingSink();
  const parent = new RedisProvider({ environment: "staging", rootDir: join(root.dir, "staging", "kv"), storeDir: join(root.dir, "staging", "store"), events });
  const preview = new RedisProvider({ environment: "pr-7", rootDir: join(root.dir, "pr-7", "kv"), storeDir: join(root.dir, "pr-7", "store"), events });
  const clients: Redis[] = [];
  const connect = (url: string) => {
    const c = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
    c.on("error", () => {});
    clients.push(c);
    return c;
  };
  after(async () => {
    for (const c of clients) c.disconnect();
    await parent.stop();
    await preview.stop();
    root.cleanup();
  });

  test("the preview's Redis holds a copy of the parent's data; the parent is untouched", async () => {
    const input = { name: "cache", version: 7, maxmemoryBytes: 64 * 1024 * 1024, eviction: "volatile-lru" as const, persistence: "none" as const };
    const p = await parent.provision(input);
    const pc = connect(p.connection.connectionString);
    for (let i = 0; i < 500; i++) await pc.set(`session:${i}`, `user ${i}`);
    await pc.hset("user:1", { name: "Ada", email: "ada@example.com" });
    await pc.rpush("queue:reminders", "a", "b", "c");
    await pc.sadd("tags", "x", "y");
    await pc.set("expiring", "soon", "EX", 3600);
    const parentPid = parent.pid("cache");
    const parentDir = join(root.dir, "staging", "kv", "cache");
    const filesBefore = readdirSync(parentDir, { recursive: true }).map(String).sort();
    const savesBefore = (await pc.info("persistence")).match(/rdb_changes_since_last_save:(\d+)/)?.[1];

    const q = await preview.provision(input);
    const emptyPort = q.connection.port;
    assert.equal(await connect(q.connection.connectionString).dbsize(), 0, "the preview starts empty");
    const work = mkdtempSync(join(tmpdir(), "berth-fork-"));
    const r = await preview.forkFrom({ host: "127.0.0.1", port: p.connection.port, password: p.connection.password }, "cache", q.connection.password, join(work, "cache.rdb"));
    assert.equal(r.keys, 504);
    assert.ok(r.bytes > 0);

    // The preview's server now (a new one, promoted: its port comes from the provider).
    const now = await preview.connection("cache", q.connection.password);
    assert.notEqual(now.port, p.connection.port, "its own server");
    const qc = connect(now.connectionString);
    assert.equal(await qc.dbsize(), 504);
    assert.equal(await qc.get("session:499"), "user 499");
    assert.deepEqual(await qc.hgetall("user:1"), { name: "Ada", email: "ada@example.com" });
    assert.deepEqual(await qc.lrange("queue:reminders", 0, -1), ["a", "b", "c"]);
    assert.deepEqual((await qc.smembers("tags")).sort(), ["x", "y"]);
    const ttl = await qc.ttl("expiring");
    assert.ok(ttl > 3500 && ttl <= 3600, `TTL kept (${ttl})`);
    assert.deepEqual(await qc.config("GET", "maxmemory-policy"), ["maxmemory-policy", "volatile-lru"], "the preview's own settings");
    assert.notEqual(now.port, emptyPort, "the empty server was replaced");

    // The parent: same server, same data, nothing written to its directory, no save.
    assert.equal(parent.pid("cache"), parentPid);
    assert.equal(await pc.dbsize(), 504);
    assert.equal(await pc.get("session:0"), "user 0");
    assert.deepEqual(readdirSync(parentDir, { recursive: true }).map(String).sort(), filesBefore);
    assert.equal((await pc.info("persistence")).match(/rdb_changes_since_last_save:(\d+)/)?.[1], savesBefore);
    assert.ok(!existsSync(join(parentDir, "dump.rdb")));

    // Two separate datasets from now on.
    await pc.set("after-fork", "parent only");
    await qc.set("preview-write", "preview only");
    assert.equal(await qc.get("after-fork"), null);
    assert.equal(await pc.get("preview-write"), null);
    // The password the preview's services use still works on the new server; no password leaked.
    assert.equal(JSON.stringify(events.events).includes(p.connection.password), false);
  });
});
