/**
 * Internal addresses (issue 22): one loopback IPv4 per service of an environment, allocated once.
 * Addresses come from 127.64.0.0/10. The first allocation of a store starts at a random /24 so
 * that several daemons on one host (tests, side-by-side data dirs) rarely pick the same addresses;
 * later ones follow on from the highest allocated.
 */
import { randomInt } from "node:crypto";
import type { Db } from "../db.ts";

const FIRST = (127 << 24) | (64 << 16); // 127.64.0.0
const LAST = (127 << 24) | (127 << 16) | (255 << 8) | 255; // 127.127.255.255

export function ipv4ToInt(address: string): number {
  return address.split(".").reduce((n, p) => n * 256 + Number(p), 0);
}

export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** The next usable address after `n` (skipping .0 and .255), wrapping inside the range. */
export function nextAddress(n: number): number {
  let m = n + 1;
  for (;;) {
    if (m > LAST) m = FIRST;
    const last = m & 255;
    if (last !== 0 && last !== 255) return m;
    m++;
  }
}

export interface InternalAddressRow {
  readonly project: string;
  readonly environment: string;
  readonly service: string;
  readonly address: string;
}

export class InternalAddressRepository {
  readonly #db: Db;
  readonly #random: () => number;

  /** `random`: the first /24's offset (tests pin it). */
  constructor(db: Db, random: () => number = () => randomInt((LAST - FIRST) >>> 8)) {
    this.#db = db;
    this.#random = random;
  }

  get(project: string, environment: string, service: string): string | undefined {
    const r = this.#db.sql.prepare("SELECT address FROM internal_addresses WHERE project = ? AND environment = ? AND service = ?").get(project, environment, service) as { address: string } | undefined;
    return r?.address;
  }

  /** Every allocated row (the loopback policy denies them all to other projects). */
  list(): InternalAddressRow[] {
    return this.#db.sql.prepare("SELECT project, environment, service, address FROM internal_addresses ORDER BY project, environment, service").all() as unknown as InternalAddressRow[];
  }

  /** The service's address, allocating one the first time. Idempotent. */
  ensure(project: string, environment: string, service: string, now: string): string {
    const known = this.get(project, environment, service);
    if (known) return known;
    const used = new Set(this.list().map((r) => ipv4ToInt(r.address)));
    let n = used.size === 0 ? nextAddress(FIRST + (this.#random() << 8)) : nextAddress(Math.max(...used));
    for (let i = 0; used.has(n) && i < 1 << 22; i++) n = nextAddress(n);
    const address = intToIpv4(n);
    this.#db.sql
      .prepare("INSERT INTO internal_addresses (project, environment, service, address, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (project, environment, service) DO NOTHING")
      .run(project, environment, service, address, now);
    return this.get(project, environment, service)!;
  }
}
