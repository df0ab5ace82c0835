/** Events of managed data. Payloads never carry passwords or connection strings with secrets. */
export interface DataEvents {
  "data:provisioned": { kind: "postgres" | "redis"; resource: string; port: number; version: string };
  "data:started": { kind: "postgres" | "redis"; resource: string; port: number; pid: number };
  "data:stopped": { kind: "postgres" | "redis"; resource: string };
  "data:removed": { kind: "postgres" | "redis"; resource: string };
  /** A server a previous daemon left running was taken over as is (no restart). */
  "data:adopted": { kind: "postgres" | "redis"; resource: string; port: number; pid: number };
  /** A running server restarts because its own settings changed; `reason` names them. */
  "data:restarting": { kind: "postgres" | "redis"; resource: string; reason: string };
  /** A server exited without being asked (kill -9, OOM, crash): it is started again after `retryInMs`. */
  "data:server:failed": { kind: "postgres" | "redis"; resource: string; pid: number; detail: string; retryInMs: number };
  /**
   * The data directory of a provisioned database is missing or belongs to another cluster: Berth
   * stops instead of creating an empty database in its place. `berth db restore --from-archive` recovers.
   */
  "data:datadir:failed": { kind: "postgres"; resource: string; path: string; reason: "missing" | "foreign"; detail: string };
  /** A server replaced by a promoted restore stopped once no service used it; its directory is kept. */
  "data:retired": { kind: "postgres"; resource: string; instance: string; port: number; reason: string };
  /** A PostgreSQL major the distribution lacks is being installed from the npm registry into the tool cache (first use only). */
  "data:installing": { kind: "postgres"; resource: string; major: number };
  /** Something was done differently from what was asked (a blueprint asking another major than the server runs). */
  "data:warning": { resource: string; message: string };
  "backup:started": { resource: string; backup: string; kind: string };
  "backup:completed": { resource: string; backup: string; kind: string; sizeBytes: number; ms: number; verified: boolean };
  "backup:failed": { resource: string; backup: string; kind: string; reason: string };
  /** The newest archived WAL is older than twice archive_timeout: the RPO promise is broken. */
  "backup:archive:missed": { resource: string; ageMs: number; limitMs: number; lastArchivedAt: string | null };
  /** archive_command is failing: WAL piles up on the server and the RPO promise is broken. */
  "backup:archive:failed": { resource: string; detail: string; lastFailedWal: string | null };
  "backup:pruned": { resource: string; backups: string[]; walSegments: number; stores?: string[] };
  "restore:started": { resource: string; restore: string; target: string };
  "restore:completed": { resource: string; restore: string; target: string; port: number; ms: number; promoted: boolean };
  "restore:failed": { resource: string; restore: string; target: string; reason: string };
  "drill:started": { resource: string; drill: string; target: string };
  "drill:passed": { resource: string; drill: string; target: string; rtoMs: number; rpoMs: number; tables: number };
  "drill:failed": { resource: string; drill: string; target: string; reason: string };
}
