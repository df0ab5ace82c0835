/**
 * The managed-data API the composition root, the reconciler and the CLI/API call.
 * `berth db list|url|backup|backups|restore --to|drill` and `berth kv info` map onto
 * PostgresProvider.list/connection/backup/backups/restore/drill and RedisProvider.info.
 */
export type { BackupRecord, ConnectionProps, HealthReport, Provisioned, ResourceProvider, RestoreResult, RestoreTarget } from "./provider.ts";
export { type PostgresInput, resolvePostgresInput } from "./postgres/input.ts";
export { type DatabaseSummary, PostgresProvider, type PostgresProviderOptions } from "./postgres/provider.ts";
export { planRetention, type RetentionPlan, type RetentionPolicy } from "./postgres/retention.ts";
export { planDuties, type Duty, DEFAULT_INTERVALS } from "./postgres/duties.ts";
export type { DrillRecord, VerificationPoint } from "./postgres/store.ts";
export { type RedisInput, EVICTION_POLICIES, resolveRedisInput } from "./redis/input.ts";
export { RedisProvider, type RedisProviderOptions } from "./redis/provider.ts";
export { parsePostgresUrl, parseRestoreTarget, withScheme } from "./target.ts";
