/**
 * What a PostgresProvider must remember across daemon restarts, in `<rootDir>/state.json`:
 * which instance is live, its port, the databases and their policies. No secrets.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ResolvedPostgresInput } from "./input.ts";

export interface DatabaseState {
  readonly resource: string;
  readonly database: string;
  readonly user: string;
  readonly pooled: boolean;
  readonly allowList: readonly string[];
  readonly keep: ResolvedPostgresInput["keep"];
  readonly pitrWindowMs: number;
  readonly backupIntervalMs: number;
}

export interface State {
  live: string | undefined;
  port: number;
  major: number | undefined;
  databases: DatabaseState[];
  kept: { restore: string; port: number }[];
  bouncerPort?: number;
}

export function readState(rootDir: string): State {
  const p = join(rootDir, "state.json");
  return existsSync(p) ? (JSON.parse(readFileSync(p, "utf8")) as State) : { live: undefined, port: 0, major: undefined, databases: [], kept: [] };
}

export function saveState(rootDir: string, state: State): void {
  mkdirSync(rootDir, { recursive: true, mode: 0o711 });
  writeFileSync(join(rootDir, "state.json"), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}
