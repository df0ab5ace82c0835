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

describe("redis provider: touch only what changed", () => {
  const root = tempRoot("berth-redis-keep-");
  const events = new RecordingSink();
  const opts = { environment: "test", rootDir: join(root.dir, "kv"), storeDir: join(root.dir, "store"), events };
  let provider = new RedisProvider(opts);
  const input = { name: "cache", persistence: "none" as const, eviction: "allkeys-lru" as const, maxmemoryBytes: 64 * 1024 * 1024 };

  after(async () => {
    await provider.stop();
    root.cleanup();
  });

  test("re-provisioning with the same settings keeps the server, its pid and a persistence:none key", async () => {
    const p = await provider.provision(input);
    const pid = provider.pid("cache");
    const c = new Redis(p.connection.connectionString, { maxRetriesPerRequest: 1 });
    await c.set("k", "v");
    for (let i = 0; i < 5; i++) await provider.provision(input, { password: p.connection.password });
    assert.equal(provider.pid("cache"), pid);
    assert.equal(await c.get("k"), "v", "the client's connection survived");
    assert.equal(events.of("data:provisioned").length, 1, "nothing to report when nothing changed");
    // A daemon restart: the new provider adopts the running server by its pid file.
    provider.detach();
    provider = new RedisProvider(opts);
    await provider.provision(input, { password: p.connection.password });
    assert.equal(provider.pid("cache"), pid);
    assert.equal(events.of("data:adopted").length, 1);
    assert.equal(await c.get("k"), "v");
    c.disconnect();
  });

  test("a change of its own settings restarts it, with the reason", async () => {
    const pw = (await provider.provision(input)).connection.password;
    const before = provider.pid("cache");
    await provider.provision({ ...input, maxmemoryBytes: 32 * 1024 * 1024 }, { password: pw });
    assert.notEqual(provider.pid("cache"), before);
    const r = events.of("data:restarting").at(-1)!;
    assert.match(r.data.reason, /maxmemory 67108864 -> 33554432/);
    assert.doesNotMatch(r.data.reason, /[0-9a-f]{64}/, "no password hash in the reason");
  });

  test("a server killed with SIGKILL is an alert and comes back", async () => {
    const pid = provider.pid("cache")!;
    process.kill(pid, "SIGKILL");
    const deadline = Date.now() + 10_000;
    while ((provider.pid("cache") ?? pid) === pid && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.notEqual(provider.pid("cache") ?? pid, pid);
    assert.equal(events.of("data:server:failed").length, 1);
  });
});
