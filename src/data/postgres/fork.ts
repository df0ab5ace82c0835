/**
 * Issue 19, `fork` preview data: a database copied from a restored (kept) instance of another
 * environment's server into this environment's live server, and the scrub step's SQL. Argument
 * arrays only; the superuser over each server's private socket, as the upgrade's copy does.
 */
import { BerthError } from "../../core/errors.ts";
import { type RunAs, runProgram } from "../proc.ts";
import type { PgInstance } from "./instance.ts";

/** pg_dump argv: a plain SQL dump of `database` with its owners (the preview's role has the same name). */
export function dumpArgs(from: Pick<PgInstance, "socketDir" | "port">, database: string, file: string): string[] {
  return ["-h", from.socketDir, "-p", String(from.port), "-U", "postgres", "--no-password", "-Fp", "--no-publications", "--no-subscriptions", "-f", file, database];
}

/** psql argv applying `input` (a file, or SQL with `-c`) to `database` in one transaction, stopping at the first error. */
export function psqlArgs(to: Pick<PgInstance, "socketDir" | "port">, database: string, input: { file: string } | { sql: string }): string[] {
  const what = "file" in input ? ["-f", input.file] : ["-c", input.sql];
  return ["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-h", to.socketDir, "-p", String(to.port), "-U", "postgres", "--no-password", "-d", database, ...what];
}

/** Copies `database` from a kept restore into the live server (whose database must be empty). */
export async function copyDatabase(from: PgInstance, to: PgInstance, database: string, file: string, opts: { runAs: RunAs | undefined; name: string; timeoutMs: number }): Promise<void> {
  for (const tool of ["pg_dump", "psql"]) {
    if (!from.has(tool)) throw new BerthError("BERTH_DATA_TOOL_UNAVAILABLE", { tool, name: opts.name, major: from.bins.major, from: from.bins.from ?? from.bins.binDir, suggestion: `A fork copies with the distribution's ${tool}: apt-get install postgresql-client-${from.bins.major}.` });
  }
  await runProgram(from.bin("pg_dump"), dumpArgs(from, database, file), opts);
  await runProgram(to.bin("psql"), psqlArgs(to, database, { file }), opts);
}
