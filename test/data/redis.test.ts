/**
 * Acceptance: CONFIG GET shows the blueprint's maxmemory and policy; with AOF, data survives a
 * restart; a password is required; RDB backups restore into a new instance.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Redis } from "ioredis";
import { RedisProvider } from "../../src/data/redis/provider.ts";
import { RecordingSink, tempRoot } from "./helpers.ts";

describe("redis provider", () => {
  const root = tempRoot("berth-redis-");
  const events = new RecordingSink();
  const provider = new RedisProvider({ environment: "test", rootDir: join(root.dir, "kv"), storeDir: join(root.dir, "store"), events });
  const clients: Redis[] = [];
  const connect = (url: string) => {
    const c = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
    c.on("error", () => {});
    clients.push(c);
    return c;
  };

  after(async () => {
    for (const c of clients) c.disconnect();
    await provider.stop();
    root.cleanup();
  });

  test("maxmemory, eviction policy and loopback binding are applied; a password is required", async () => {
    const p = await provider.provision({ name: "cache", version: 7, maxmemoryBytes: 256 * 1024 * 1024, eviction: "volatile-lru", persistence: "rdb" });
    const c = connect(p.connection.connectionString);
    assert.deepEqual(await c.config("GET", "maxmemory"), ["maxmemory", String(256 * 1024 * 1024)]);
    assert.deepEqual(await c.config("GET", "maxmemory-policy"), ["maxmemory-policy", "volatile-lru"]);
    assert.deepEqual(await c.config("GET", "bind"), ["bind", "127.0.0.1"]);
    const anon = connect(`redis://127.0.0.1:${p.connection.port}`);
    await assert.rejects(anon.get("x"), /NOAUTH|WRONGPASS/);
    const info = await provider.info("cache", p.connection.password);
    assert.equal(info.maxmemory_policy, "volatile-lru");
    // The configuration holds only a hash of the password.
    const dir = join(root.dir, "kv", "cache");
    for (const f of readdirSync(dir).filter((f) => f.endsWith(".conf"))) assert.equal(readFileSync(join(dir, f), "utf8").includes(p.connection.password), false);
    assert.equal(JSON.stringify(events.events).includes(p.connection.password), false);
  });

  test("with AOF, data survives a restart and an RDB backup restores into a new instance", async () => {
    const p = await provider.provision({ name: "queue", persistence: "aof", eviction: "noeviction" });
    const c = connect(p.connection.connectionString);
    assert.deepEqual(await c.config("GET", "appendonly"), ["appendonly", "yes"]);
    for (let i = 0; i < 100; i++) await c.set(`job:${i}`, `payload ${i}`);
    c.disconnect();
    await provider.stop();
    const again = await provider.provision({ name: "queue", persistence: "aof", eviction: "noeviction" }, { password: p.connection.password });
    const d = connect(again.connection.connectionString);
    assert.equal(await d.get("job:99"), "payload 99");
    assert.equal(await d.dbsize(), 100);

    const backup = await provider.backup("queue", p.connection.password);
    assert.equal(backup.kind, "rdb");
    await d.set("job:after", "x");
    const restored = await provider.restore("queue", { kind: "backup", backup: backup.id }, { mode: "keep", password: p.connection.password });
    const r = connect(`redis://default:${encodeURIComponent(p.connection.password)}@127.0.0.1:${restored.port}`);
    assert.equal(await r.dbsize(), 100);
    assert.equal(await r.get("job:after"), null);
    assert.deepEqual(await r.config("GET", "appendonly"), ["appendonly", "yes"]);
  });
});
