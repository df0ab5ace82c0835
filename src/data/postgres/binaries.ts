/**
 * Which PostgreSQL binaries to use. Debian's packages install majors side by side under
 * /usr/lib/postgresql/<major>/bin; we take the requested major when installed and otherwise the
 * newest installed one at or above it (a newer server reads an older app's SQL), else the newest.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { BerthError } from "../../core/errors.ts";

export interface PgBinaries {
  readonly major: number;
  readonly binDir: string;
  /** Set when the requested major is not installed. */
  readonly substitutedFor?: number;
}

/** Pure choice among installed majors. */
export function chooseMajor(installed: readonly number[], requested: number | undefined): { major: number; substituted: boolean } | undefined {
  const sorted = [...installed].sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  if (requested === undefined) return { major: sorted.at(-1)!, substituted: false };
  if (sorted.includes(requested)) return { major: requested, substituted: false };
  const above = sorted.find((m) => m > requested);
  return { major: above ?? sorted.at(-1)!, substituted: true };
}

/** Finds installed majors under `root` that have the programs Berth needs. */
export function findBinaries(requested: number | undefined, root = "/usr/lib/postgresql"): PgBinaries {
  const needed = ["postgres", "initdb", "pg_basebackup", "pg_verifybackup", "pg_amcheck", "pg_dump"];
  const installed = existsSync(root)
    ? readdirSync(root)
        .filter((d) => /^\d+$/.test(d) && needed.every((p) => existsSync(join(root, d, "bin", p))))
        .map(Number)
    : [];
  const choice = chooseMajor(installed, requested);
  if (!choice) {
    throw new BerthError("BERTH_DATA_INPUT_INVALID", { kind: "postgres", name: `postgres ${requested ?? ""}`.trim(), detail: `no PostgreSQL server binaries under ${root} (apt-get install postgresql)` });
  }
  return { major: choice.major, binDir: join(root, String(choice.major), "bin"), ...(choice.substituted && requested !== undefined ? { substitutedFor: requested } : {}) };
}
