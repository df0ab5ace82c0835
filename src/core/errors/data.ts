import { defineErrors } from "./spec.ts";

/** Errors of managed data: PostgreSQL and Redis servers, backups, restores and drills. */
export const dataErrors = defineErrors({
  BERTH_DATA_INPUT_INVALID: {
    message: "invalid {kind} resource '{name}': {detail}",
    hint: "Fix the database or keyValue entry named above in berth.yaml.",
    http: 400,
    exit: 2,
  },
  BERTH_DATA_MAJOR_UNAVAILABLE: {
    message: "PostgreSQL {major} cannot be provided for '{name}': {detail}",
    hint: "Write a major Berth provides (`postgres: 14` to `postgres: 18`; 16 when omitted). When the npm registry was unreachable, fix the proxy or trust settings (NODE_EXTRA_CA_CERTS) and deploy again.",
    http: 422,
    exit: 2,
  },
  BERTH_DATA_MAJOR_CHANGE: {
    message: "database '{name}' runs PostgreSQL {current}; the blueprint asks for {requested}",
    hint: "A blueprint edit never changes a database's major. Run `berth db upgrade {name} --to {requested}` (a copy into a new server; the old one is kept), or write `postgres: {current}`.",
    http: 409,
    exit: 2,
  },
  BERTH_DATA_UPGRADE_FAILED: {
    message: "upgrading '{name}' from PostgreSQL {from} to {to} failed: {detail}",
    hint: "Nothing changed: the old server is live and writable again and the new one was removed. Fix the cause and run `berth db upgrade` again.",
    http: 500,
    exit: 1,
  },
  BERTH_DATA_TOOL_UNAVAILABLE: {
    message: "{tool} is not available for '{name}' (PostgreSQL {major} from {from})",
    hint: "{suggestion}",
    http: 422,
    exit: 1,
  },
  BERTH_DATA_PROCESS_FAILED: {
    message: "{program} failed for '{name}' (exit {code}): {detail}",
    hint: "Read the server log in {logPath}; check free disk space and that the OS package is installed.",
    http: 500,
    exit: 1,
  },
  BERTH_DATA_START_FAILED: {
    message: "{kind} server '{name}' did not become ready: {detail}",
    hint: "Read the server log in {logPath}; a port clash or a full disk are the usual causes.",
    http: 503,
    exit: 6,
  },
  BERTH_DATA_NOT_RUNNING: {
    message: "{kind} server '{name}' is not running",
    hint: "Start it with its stack (`berth up` or `berth deploy`), or check `berth status` and `berth db list`. When its data is lost, `berth db restore --from-archive` brings back everything archived.",
    http: 409,
    exit: 6,
  },
  BERTH_DATA_BACKUP_FAILED: {
    message: "backup of '{name}' failed: {detail}",
    hint: "The previous backups are untouched. Check free space in the backup store {storeDir} and run `berth db backup` again.",
    http: 500,
    exit: 1,
  },
  BERTH_DATA_BACKUP_CORRUPT: {
    message: "backup {backup} of '{name}' failed verification: {detail}",
    hint: "Do not restore from this backup. Take a fresh one with `berth db backup` and check the disk holding {storeDir}.",
    http: 500,
    exit: 1,
  },
  BERTH_DATA_ARCHIVE_FAILED: {
    message: "WAL segment {segment} of '{name}' was not archived within {seconds} s: {detail}",
    hint: "Check that the archive directory {walDir} is writable and has free space; the server log is {logPath}.",
    http: 503,
    exit: 1,
  },
  BERTH_DATA_WAL_GAP: {
    message: "the WAL archive of '{name}' is missing segment {segment}: {detail}",
    hint: "Nothing after that segment can be replayed. Restore to a time before it (`berth db backups` shows the window), and take a fresh base backup now with `berth db backup`.",
    http: 500,
    exit: 1,
  },
  BERTH_DATA_DIR_LOST: {
    message: "the data directory of '{name}' is {reason}: {path}",
    hint: "Berth will not create an empty database in its place. Bring back everything archived with `berth db restore {name} --from-archive` (or `--to <time>`).",
    http: 503,
    exit: 6,
  },
  BERTH_DATA_RECOVER_SOURCE_INVALID: {
    message: "cannot recover from {path}: {detail}",
    hint: "Point --from at a copy of Berth's backups directory (<data-dir>/backups), or at one database's store directory.",
    http: 400,
    exit: 2,
  },
  BERTH_DATA_RECOVER_REFUSED: {
    message: "will not recover '{name}' over a live database that holds data: {detail}",
    hint: "To go back in time on this server, use `berth db restore {name} --to <time>`. To set it aside for the recovered one anyway (it is kept on disk), add --replace.",
    http: 409,
    exit: 5,
  },
  BERTH_DATA_RESTORE_TARGET_INVALID: {
    message: "cannot restore '{name}' to {target}: {detail}",
    hint: "List restorable backups and the recovery window with `berth db backups`.",
    http: 400,
    exit: 2,
  },
  BERTH_DATA_RESTORE_FAILED: {
    message: "restore of '{name}' to {target} failed: {detail}",
    hint: "The live database was not touched. Read the restore log in {logPath}.",
    http: 500,
    exit: 1,
  },
  BERTH_DATA_DRILL_FAILED: {
    message: "restore drill of '{name}' failed: {detail}",
    hint: "Backups of '{name}' may not be restorable. Take a fresh base backup now and investigate the store {storeDir}.",
    http: 500,
    exit: 1,
  },
});
