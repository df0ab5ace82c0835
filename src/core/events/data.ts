/** Events of managed data. Payloads never carry passwords or connection strings with secrets. */
export interface DataEvents {
  "data:provisioned": { kind: "postgres" | "redis"; resource: string; port: number; version: string };
  "data:started": { kind: "postgres" | "redis"; resource: string; port: number; pid: number };
  "data:stopped": { kind: "postgres" | "redis"; resource: string };
  "data:removed": { kind: "postgres" | "redis"; resource: string };
  /** Something was done differently from what was asked, e.g. a substituted major version. */
  "data:warning": { resource: string; message: string };
  "backup:started": { resource: string; backup: string; kind: string };
  "backup:completed": { resource: string; backup: string; kind: string; sizeBytes: number; ms: number; verified: boolean };
  "backup:failed": { resource: string; backup: string; kind: string; reason: string };
  /** The newest archived WAL is older than twice archive_timeout: the RPO promise is broken. */
  "backup:archive:missed": { resource: string; ageMs: number; limitMs: number; lastArchivedAt: string | null };
  "backup:pruned": { resource: string; backups: string[]; walSegments: number };
  "restore:started": { resource: string; restore: string; target: string };
  "restore:completed": { resource: string; restore: string; target: string; port: number; ms: number; promoted: boolean };
  "restore:failed": { resource: string; restore: string; target: string; reason: string };
  "drill:started": { resource: string; drill: string; target: string };
  "drill:passed": { resource: string; drill: string; target: string; rtoMs: number; rpoMs: number; tables: number };
  "drill:failed": { resource: string; drill: string; target: string; reason: string };
}
