import assert from "node:assert/strict";
import { test } from "node:test";
import { openDb } from "../db.ts";
import { InternalAddressRepository, intToIpv4, ipv4ToInt, nextAddress } from "./internal-addresses.ts";

const now = "2026-01-01T00:00:00.000Z";

test("an address is allocated once per service and kept (deploys, restarts, a reopened store)", () => {
  const db = openDb(":memory:");
  const repo = new InternalAddressRepository(db, () => 5);
  const api = repo.ensure("shop", "production", "api", now);
  assert.equal(api, "127.64.5.1");
  assert.equal(repo.ensure("shop", "production", "api", now), api);
  assert.equal(repo.ensure("shop", "production", "web", now), "127.64.5.2");
  assert.equal(repo.ensure("shop", "staging", "api", now), "127.64.5.3");
  // Another repository over the same store (a daemon restart) sees the same addresses.
  assert.equal(new InternalAddressRepository(db, () => 99).get("shop", "production", "api"), api);
  assert.equal(new Set(repo.list().map((r) => r.address)).size, 3);
});

test("allocation skips network and broadcast-looking addresses and wraps inside 127.64.0.0/10", () => {
  assert.equal(intToIpv4(nextAddress(ipv4ToInt("127.64.0.254"))), "127.64.1.1");
  assert.equal(intToIpv4(nextAddress(ipv4ToInt("127.127.255.254"))), "127.64.0.1");
  const db = openDb(":memory:");
  const repo = new InternalAddressRepository(db, () => 0);
  const seen = new Set<string>();
  for (let i = 0; i < 600; i++) seen.add(repo.ensure("p", "e", `s${i}`, now));
  assert.equal(seen.size, 600);
  for (const a of seen) assert.match(a, /^127\.64\.\d+\.(?!0$|255$)\d+$/);
});
