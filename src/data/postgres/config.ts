/**
 * Pure renderers for every file Berth writes next to a PostgreSQL server: its settings
 * (`berth.conf`, included from postgresql.conf), client authentication (`pg_hba.conf`,
 * `pg_ident.conf`), the WAL archive script and PgBouncer's configuration. Snapshot-tested.
 */
import { BerthError } from "../../core/errors.ts";

/** Paths end up inside single-quoted configuration values: allow only plain characters. */
export function safePath(path: string): string {
  if (!/^\/[A-Za-z0-9_./-]+$/.test(path)) throw new BerthError("BERTH_DATA_INPUT_INVALID", { kind: "postgres", name: path, detail: "paths used by PostgreSQL may only hold letters, digits, '_', '.', '-' and '/'" });
  return path;
}

export interface ServerSettings {
  readonly port: number;
  readonly socketDir: string;
  /** Extra listen addresses only when an allow-list admits non-loopback clients. */
  readonly listenAll: boolean;
  /** WAL archive: the script and the directory, or undefined for scratch instances. */
  readonly archive?: { readonly script: string; readonly dir: string; readonly timeoutMs: number } | undefined;
  /** Recovery settings for a restore; the caller also writes recovery.signal. */
  readonly recovery?: RecoverySettings | undefined;
}

export type RecoveryStop = { readonly kind: "time"; readonly at: string } | { readonly kind: "point"; readonly name: string } | { readonly kind: "immediate" } | { readonly kind: "latest" };

export interface RecoverySettings {
  /** The restore script (renderRestoreScript) and the archive directories it reads, in order. */
  readonly script: string;
  readonly walDirs: readonly string[];
  readonly stop: RecoveryStop;
  /** The timeline that was live at the target (a promote in between switched timelines). */
  readonly timeline?: number | "latest";
}

/** PostgreSQL's timestamptz input does not take ISO 8601's `T` and `Z`: `2026-01-22 04:15:00.123+00`. */
export function pgTimestamp(iso: string): string {
  return new Date(iso).toISOString().replace("T", " ").replace("Z", "+00");
}

/**
 * A single-quoted postgresql.conf value. Issue 17: a line break would end the value and start a
 * setting of the caller's choosing, so control characters are refused, never escaped.
 */
export function pgConfString(v: string): string {
  if (/[\x00-\x1f\x7f]/.test(v)) throw new BerthError("BERTH_DATA_INPUT_INVALID", { kind: "postgres", name: JSON.stringify(v).slice(0, 80), detail: "a configuration value may not hold control characters or line breaks" });
  return `'${v.replace(/'/g, "''")}'`;
}
const quote = pgConfString;

/** `berth.conf`: everything Berth sets, one source of truth, rewritten on each start. */
export function renderServerConf(s: ServerSettings): string {
  const lines = [
    "# Written by Berth on every start; edit the blueprint instead.",
    `listen_addresses = ${quote(s.listenAll ? "*" : "127.0.0.1")}`,
    `port = ${s.port}`,
    `unix_socket_directories = ${quote(safePath(s.socketDir))}`,
    "unix_socket_permissions = 0700",
    "password_encryption = 'scram-sha-256'",
    "wal_level = replica",
    "max_wal_senders = 4",
    // Commit timestamps let restores and drills say exactly which transactions a target includes.
    "track_commit_timestamp = on",
    "log_statement = 'none'",
    "log_min_duration_statement = -1",
    "shared_buffers = '64MB'",
  ];
  if (s.archive) {
    const seconds = Math.max(1, Math.min(60, Math.round(s.archive.timeoutMs / 1000)));
    lines.push(
      "archive_mode = on",
      `archive_command = ${quote(`${quote(safePath(s.archive.script))} %p ${quote(safePath(s.archive.dir))} %f`)}`,
      `archive_timeout = ${seconds}`,
    );
  } else {
    lines.push("archive_mode = off");
  }
  if (s.recovery) {
    const dirs = s.recovery.walDirs.map((d) => quote(safePath(d))).join(" ");
    lines.push(`restore_command = ${quote(`${quote(safePath(s.recovery.script))} %f %p ${dirs}`)}`);
    if (s.recovery.timeline !== undefined) lines.push(`recovery_target_timeline = ${quote(String(s.recovery.timeline))}`);
    const stop = s.recovery.stop;
    if (stop.kind === "time") lines.push(`recovery_target_time = ${quote(pgTimestamp(stop.at))}`, "recovery_target_inclusive = on");
    if (stop.kind === "point") lines.push(`recovery_target_name = ${quote(stop.name)}`);
    if (stop.kind === "immediate") lines.push("recovery_target = 'immediate'");
    if (stop.kind !== "latest") lines.push("recovery_target_action = 'promote'");
  }
  return `${lines.join("\n")}\n`;
}

/** Why a server running `current` (berth.conf) must restart to run `next`; undefined = it need not. */
export function confChange(current: string, next: string): string | undefined {
  const settings = (text: string) =>
    new Map(
      text
        .split("\n")
        .filter((l) => l.includes(" = ") && !l.startsWith("#"))
        .map((l) => [l.slice(0, l.indexOf(" = ")), l.slice(l.indexOf(" = ") + 3)] as const),
    );
  const a = settings(current);
  const b = settings(next);
  const changed = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k));
  return changed.length === 0 ? undefined : changed.map((k) => `${k} ${a.get(k) ?? "(unset)"} -> ${b.get(k) ?? "(unset)"}`).join(", ");
}

export interface HbaEntry {
  readonly database: string;
  readonly user: string;
}

/**
 * Only the environment's roles, each to its own database, from 127.0.0.1 (and the allow-list);
 * the superuser only over the Unix socket through peer authentication (mapped in pg_ident).
 */
export function renderHba(entries: readonly HbaEntry[], allowList: readonly string[]): string {
  const lines = ["# Written by Berth. TYPE DATABASE USER ADDRESS METHOD", "local all postgres peer map=berth", "local replication postgres peer map=berth"];
  for (const e of entries) {
    for (const cidr of ["127.0.0.1/32", ...allowList]) lines.push(`host ${e.database} ${e.user} ${cidr} scram-sha-256`);
  }
  return `${lines.join("\n")}\n`;
}

/** Maps the OS users allowed to act as the superuser over the socket. */
export function renderIdent(osUsers: readonly string[]): string {
  return `${[...new Set(osUsers)].map((u) => `berth ${u} postgres`).join("\n")}\n`;
}

/**
 * The archive_command script: copies a WAL segment into the archive without ever overwriting a
 * different file (a retry of an already archived segment succeeds), via a temporary name and an
 * fsync so a crash never leaves a half segment under the final name.
 */
export function renderArchiveScript(): string {
  return `#!/bin/sh
# archive-wal SRC ARCHIVE_DIR NAME - written by Berth; used as PostgreSQL's archive_command.
set -eu
src="$1"; dir="$2"; name="$3"; dst="$dir/$name"
if [ -e "$dst" ]; then
  if cmp -s "$src" "$dst"; then exit 0; fi
  echo "archive-wal: $dst already exists with different content" >&2
  exit 1
fi
tmp="$dir/.$name.tmp"
cp "$src" "$tmp"
sync "$tmp" 2>/dev/null || sync
mv "$tmp" "$dst"
# The newest segment stored: a segment deleted from the archive later is then a visible gap.
case "$name" in
  ????????????????????????) printf '%s\n' "$name" > "$dir/.last.tmp" && mv "$dir/.last.tmp" "$dir/.last" ;;
esac
`;
}

/**
 * The restore_command script: fetches a WAL segment or timeline history file from the first of
 * the given archive directories that has it (the stores of one database across promotes).
 * A missing file is not an error for PostgreSQL (it is how the end of the archive is found).
 */
export function renderRestoreScript(): string {
  return `#!/bin/sh
# restore-wal NAME DEST DIR... - written by Berth; used as PostgreSQL's restore_command.
name="$1"; dst="$2"; shift 2
for d in "$@"; do
  if [ -f "$d/$name" ]; then exec cp "$d/$name" "$dst"; fi
done
exit 1
`;
}

export interface BouncerSettings {
  readonly listenPort: number;
  readonly serverPort: number;
  readonly authFile: string;
  /** Lets a restarted daemon find and stop a PgBouncer it orphaned. */
  readonly pidFile?: string;
  readonly databases: readonly string[];
}

/** PgBouncer in transaction mode in front of the server, loopback only. */
export function renderBouncerIni(s: BouncerSettings): string {
  return [
    "[databases]",
    ...s.databases.map((d) => `${d} = host=127.0.0.1 port=${s.serverPort} dbname=${d}`),
    "",
    "[pgbouncer]",
    "listen_addr = 127.0.0.1",
    `listen_port = ${s.listenPort}`,
    "unix_socket_dir =",
    "auth_type = scram-sha-256",
    `auth_file = ${safePath(s.authFile)}`,
    ...(s.pidFile ? [`pidfile = ${safePath(s.pidFile)}`] : []),
    "pool_mode = transaction",
    "max_client_conn = 200",
    "default_pool_size = 10",
    "ignore_startup_parameters = extra_float_digits,options",
    "",
  ].join("\n");
}

/** PgBouncer's auth file: SCRAM verifiers, which it also uses to log in to the server. */
export function renderBouncerUsers(users: readonly { user: string; verifier: string }[]): string {
  return users.map((u) => `"${u.user}" "${u.verifier}"\n`).join("");
}
