/** The Redis provider's own input type, mapped from the blueprint's `keyValues` by the lead. */
import { BerthError } from "../../core/errors.ts";

export const EVICTION_POLICIES = ["noeviction", "allkeys-lru", "volatile-lru", "allkeys-lfu", "volatile-lfu", "allkeys-random", "volatile-random", "volatile-ttl"] as const;
export type EvictionPolicy = (typeof EVICTION_POLICIES)[number];
export type Persistence = "rdb" | "aof" | "none";

export interface RedisInput {
  readonly name: string;
  /** Requested major; the installed redis-server is used (a warning event says so if different). */
  readonly version?: number;
  /** 0 = no limit. Default 256 MiB. */
  readonly maxmemoryBytes?: number;
  readonly eviction?: EvictionPolicy;
  readonly persistence?: Persistence;
}

export interface ResolvedRedisInput {
  readonly name: string;
  readonly version: number | undefined;
  readonly maxmemoryBytes: number;
  readonly eviction: EvictionPolicy;
  readonly persistence: Persistence;
}

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

export function resolveRedisInput(input: RedisInput): ResolvedRedisInput {
  const bad = (detail: string) => new BerthError("BERTH_DATA_INPUT_INVALID", { kind: "redis", name: input.name, detail });
  if (!NAME.test(input.name)) throw bad("the name must be lowercase letters, digits and dashes");
  const maxmemoryBytes = input.maxmemoryBytes ?? 256 * 1024 * 1024;
  if (!Number.isInteger(maxmemoryBytes) || maxmemoryBytes < 0) throw bad("maxmemoryBytes must be a whole number >= 0");
  const eviction = input.eviction ?? "noeviction";
  if (!EVICTION_POLICIES.includes(eviction)) throw bad(`eviction must be one of ${EVICTION_POLICIES.join(", ")}`);
  const persistence = input.persistence ?? "rdb";
  if (!["rdb", "aof", "none"].includes(persistence)) throw bad("persistence must be rdb, aof or none");
  return Object.freeze({ name: input.name, version: input.version, maxmemoryBytes, eviction, persistence });
}
