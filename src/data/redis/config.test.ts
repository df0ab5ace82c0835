import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { renderRedisConf, sha256Hex } from "./config.ts";
import { resolveRedisInput } from "./input.ts";

describe("redis configuration rendering", () => {
  const input = resolveRedisInput({ name: "cache", maxmemoryBytes: 268_435_456, eviction: "volatile-lru", persistence: "rdb" });
  const settings = { port: 6379, dir: "/srv/kv/cache", passwordSha256: sha256Hex("pw") };

  test("seed 001's cache: 256 MB, volatile-lru, RDB, loopback, hashed password", (t) => {
    const conf = renderRedisConf(input, settings);
    assert.equal(conf.includes(" pw\n"), false);
    t.assert.snapshot(conf.split("\n"));
  });

  test("AOF and none persistence", () => {
    assert.match(renderRedisConf({ ...input, persistence: "aof" }, settings), /appendonly yes\nappendfsync everysec/);
    assert.match(renderRedisConf({ ...input, persistence: "none" }, settings), /save ""\nappendonly no/);
  });

  test("invalid input names the field", () => {
    assert.throws(() => resolveRedisInput({ name: "cache", eviction: "lru" as never }), /eviction must be one of/);
    assert.throws(() => resolveRedisInput({ name: "cache", maxmemoryBytes: -1 }), /maxmemoryBytes/);
  });
});
