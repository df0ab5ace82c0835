/** Shapes of the API responses the dashboard reads (the OpenAPI document at /openapi.json is the reference). */

export type Role = "viewer" | "deployer" | "owner";
export interface Who {
  readonly name: string;
  readonly role: Role;
  readonly projects: readonly string[];
}
export interface Instance {
  readonly id: string;
  readonly state: string;
  readonly release: number | null;
  readonly pid: number | null;
  readonly port: number | null;
  readonly restarts: number;
  readonly startedAt: string | null;
}
export interface Service {
  readonly name: string;
  readonly kind: string;
  readonly replicas: number;
  readonly release: number | null;
  readonly failed: boolean;
  readonly urls: readonly string[];
  readonly instances: readonly Instance[];
}
export interface Datastore {
  readonly name: string;
  readonly kind: "postgres" | "redis";
  readonly version: string;
  readonly state: "running" | "stopped" | "unknown";
  readonly address: string | null;
  readonly lastGoodBackupAt?: string | null;
}
export interface Environment {
  readonly project: string;
  readonly name: string;
  readonly status: string;
  readonly statusDetail: string | null;
  readonly servicesTotal: number;
  readonly services: readonly Service[];
  readonly databases?: readonly Datastore[];
  readonly keyValues?: readonly Datastore[];
}
export interface Status {
  readonly environments: readonly Environment[];
}
export interface Alert {
  readonly id: string;
  readonly rule: string;
  readonly severity: "critical" | "warning" | "info";
  readonly state: "pending" | "firing" | "resolved";
  readonly project: string;
  readonly environment: string;
  readonly service: string;
  readonly summary: string;
  readonly firedAt: string | null;
}
export interface DeployStep {
  readonly step: string;
  readonly detail: string;
  readonly ms: number;
  readonly at: string;
}
export interface Deploy {
  readonly id: string;
  readonly service: string;
  readonly release: number | null;
  readonly status: string;
  readonly step: string | null;
  readonly reason: string | null;
  readonly steps: readonly DeployStep[];
  readonly actor: string;
  readonly createdAt: string;
  readonly finishedAt: string | null;
}
export interface Release {
  readonly number: number;
  readonly digest: string;
  readonly createdAt: string;
  readonly desired: boolean;
}
export interface CronRun {
  readonly id: string;
  readonly origin: "scheduled" | "manual";
  readonly trigger: string;
  readonly attempt: number;
  readonly status: string;
  readonly scheduledAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly durationMs: number | null;
  readonly exitCode: number | null;
  readonly reason: string | null;
}
export interface CronJob {
  readonly name: string;
  readonly service: string;
  readonly schedule: string;
  readonly timezone: string;
  readonly command: string;
  readonly suspended: boolean;
  readonly nextRunAt: string | null;
  readonly lastRun: CronRun | null;
}
export interface Database {
  readonly resource: string;
  readonly running: boolean;
  readonly version: number | null;
  readonly archiving: string;
  readonly lastGoodBackup: { readonly id: string; readonly at: string } | null;
  readonly lastDrill: { readonly at: string; readonly ok: boolean } | null;
  readonly restorableFrom: string | null;
}
export interface Backup {
  readonly id: string;
  readonly kind: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly sizeBytes: number;
  readonly verified: boolean;
  readonly failure?: string;
}
export interface Drill {
  readonly id: string;
  readonly at: string;
  readonly backup: string;
  readonly ok: boolean;
  readonly rtoMs: number;
  readonly detail: string;
}

/** One event of Berth's event log (GET /v1/events, /v1/events/stream). */
export interface BerthEvent {
  readonly seq: number;
  readonly at: string;
  readonly type: string;
  readonly scope: { readonly project?: string; readonly environment?: string; readonly service?: string };
  readonly actor: string;
  readonly data: Record<string, unknown>;
}
