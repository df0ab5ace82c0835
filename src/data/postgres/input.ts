/**
 * The provider's own input type for one PostgreSQL database, mapped from the blueprint by the
 * lead. Resolved once here into a frozen, fully defaulted object.
 */
import { Cron } from "croner";
import { BerthError } from "../../core/errors.ts";

const validCron = (expr: string) => {
  try {
    new Cron(expr, { paused: true, timezone: "UTC" }).stop();
    return true;
  } catch {
    return false;
  }
};

/** Retention counts, as in `backups: { keep: { daily: 7, weekly: 4, monthly: 12 } }`. */
export interface KeepCounts {
  readonly daily: number;
  readonly weekly: number;
  readonly monthly: number;
}

export interface PostgresInput {
  /** Resource name in the blueprint (`db`). */
  readonly name: string;
  /** Requested major version; the nearest installed one is used otherwise (with a warning). */
  readonly version?: number;
  /** Defaults to the resource name with dashes as underscores. */
  readonly databaseName?: string;
  /** Owner role; defaults to the database name. */
  readonly user?: string;
  /** `false`: no scheduled base backups. `schedule` is a cron expression (UTC); it wins over `intervalMs`. */
  readonly backups?: false | { readonly keep?: Partial<KeepCounts>; readonly intervalMs?: number; readonly schedule?: string };
  /** `false`: no WAL archive (restores only to a base backup). */
  readonly pitr?: boolean;
  /** Point-in-time-recovery window; default 7 days. */
  readonly pitrWindowMs?: number;
  /** Also publish a pooled (PgBouncer) connection string. */
  readonly pooled?: boolean;
  /** CIDRs allowed besides loopback (e.g. a private network); empty = loopback only. */
  readonly allowList?: readonly string[];
}

export interface ResolvedPostgresInput {
  readonly name: string;
  readonly version: number | undefined;
  readonly databaseName: string;
  readonly user: string;
  readonly keep: KeepCounts;
  readonly backupIntervalMs: number;
  readonly backupSchedule: string | undefined;
  readonly backups: boolean;
  readonly pitr: boolean;
  readonly pitrWindowMs: number;
  readonly pooled: boolean;
  readonly allowList: readonly string[];
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;
const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$|^[0-9a-f:]+\/\d{1,3}$/i;
const RESERVED = new Set(["postgres", "template0", "template1", "pgbouncer"]);
const DAY_MS = 86_400_000;

/** Validates and defaults; throws BERTH_DATA_INPUT_INVALID naming the bad field. */
export function resolvePostgresInput(input: PostgresInput): ResolvedPostgresInput {
  const bad = (detail: string) => new BerthError("BERTH_DATA_INPUT_INVALID", { kind: "postgres", name: input.name, detail });
  const databaseName = input.databaseName ?? input.name.replace(/-/g, "_");
  const user = input.user ?? databaseName;
  if (!IDENT.test(databaseName) || RESERVED.has(databaseName)) throw bad(`databaseName '${databaseName}' must match ${IDENT} and not be a reserved name`);
  if (!IDENT.test(user) || RESERVED.has(user) || user.startsWith("pg_")) throw bad(`user '${user}' must match ${IDENT}, not start with pg_ and not be reserved`);
  for (const c of input.allowList ?? []) if (!CIDR.test(c)) throw bad(`allowList entry '${c}' is not a CIDR like 10.0.0.0/8`);
  const pitrWindowMs = input.pitrWindowMs ?? 7 * DAY_MS;
  if (!(pitrWindowMs >= 0)) throw bad("pitrWindowMs must be >= 0");
  const b = input.backups === false ? undefined : input.backups;
  const keep = { daily: 7, weekly: 0, monthly: 0, ...b?.keep };
  const schedule = b?.schedule;
  if (schedule !== undefined && !validCron(schedule)) throw bad(`backups.schedule '${schedule}' is not a cron expression (e.g. "0 3 * * *")`);
  for (const [k, v] of Object.entries(keep)) if (!Number.isInteger(v) || v < 0) throw bad(`backups.keep.${k} must be a whole number >= 0`);
  return Object.freeze({
    name: input.name,
    version: input.version,
    databaseName,
    user,
    keep: Object.freeze(keep),
    backupIntervalMs: b?.intervalMs ?? DAY_MS,
    backupSchedule: schedule,
    backups: input.backups !== false,
    pitr: input.pitr !== false,
    pitrWindowMs: input.pitr === false ? 0 : pitrWindowMs,
    pooled: input.pooled ?? false,
    allowList: Object.freeze([...(input.allowList ?? [])]),
  });
}
