/**
 * What a PostgresProvider must remember across daemon restarts, in `<rootDir>/state.json`:
 * which instance is live, its port, the databases and their policies. No secrets.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
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
  /** Cron expression for base backups (the blueprint's `backups.schedule`); overrides the interval. */
  readonly backupSchedule?: string | undefined;
  /** `backups: false`: no scheduled base backups (nor drills). */
  readonly backups?: boolean;
  /** `pitr: false`: no WAL archive (only base backups restore). */
  readonly pitr?: boolean;
}

export interface State {
  live: string | undefined;
  port: number;
  major: number | undefined;
  databases: DatabaseState[];
  kept: { restore: string; port: number }[];
  bouncerPort?: number;
  /** The live cluster's system identifier: a data directory with another one is foreign. */
  systemId?: string;
  /** Servers replaced by a promoted restore, still running until no service uses them. */
  retiring?: { instance: string; port: number; since: string }[];
  /**
   * A `berth db upgrade` in progress: the live server's databases are read-only and `instance`
   * is being filled. Found at start-up (the daemon died mid-copy), it is undone (upgrade.ts).
   */
  upgrading?: { instance: string; databases: string[] };
}

export function readState(rootDir: string): State {
  const p = join(rootDir, "state.json");
  return existsSync(p) ? (JSON.parse(readFileSync(p, "utf8")) as State) : { live: undefined, port: 0, major: undefined, databases: [], kept: [] };
}

/** Written to a temporary name and renamed: a crash never leaves half a state file. */
export function saveState(rootDir: string, state: State): void {
  mkdirSync(rootDir, { recursive: true, mode: 0o711 });
  const p = join(rootDir, "state.json");
  writeFileSync(`${p}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${p}.tmp`, p);
}
