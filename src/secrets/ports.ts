/**
 * What the secrets subsystem needs from the store, as interfaces: `src/store/repositories/
 * secrets.ts` and `env-groups.ts` implement them structurally and `server.ts` wires them in, so
 * this layer-1 folder does not import another layer-1 folder. Rows hold ciphertext only.
 */

/** A project as the secret store needs it: the id is bound into ciphertexts, the name into events. */
export interface ProjectRef {
  readonly id: string;
  readonly name: string;
}

export interface DataKeyRecord {
  readonly id: string;
  readonly projectId: string;
  readonly version: number;
  readonly state: "active" | "retired";
  readonly kekId: string;
  readonly wrapped: string;
  readonly createdAt: string;
  readonly retiredAt: string | null;
}

/** Who a value belongs to: `service:<name>` or `group:<name>`. */
export type SecretOwner = `service:${string}` | `group:${string}`;

/** Identifies one stored value. `environment` is a name or `*` (every environment). */
export interface SecretKey {
  readonly projectId: string;
  readonly environment: string;
  readonly owner: SecretOwner;
  readonly name: string;
}

export interface SecretRecord extends SecretKey {
  readonly id: string;
  readonly source: "set" | "generated";
  readonly keyId: string;
  readonly ciphertext: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

export interface SecretRows {
  tx<T>(fn: () => T): T;
  insertDataKey(row: Omit<DataKeyRecord, "retiredAt">): void;
  dataKey(id: string): DataKeyRecord | undefined;
  activeDataKey(projectId: string): DataKeyRecord | undefined;
  latestVersion(projectId: string): number;
  allDataKeys(): DataKeyRecord[];
  retireDataKey(id: string, now: string): void;
  rewrapDataKey(id: string, kekId: string, wrapped: string): void;
  upsertValue(key: SecretKey, v: { source: "set" | "generated"; keyId: string; ciphertext: string; actor: string; now: string }): SecretRecord;
  value(key: SecretKey): SecretRecord | undefined;
  deleteValue(key: SecretKey): boolean;
  deleteOwner(projectId: string, owner: SecretOwner): number;
  listValues(projectId: string, filter?: { environments?: readonly string[]; owner?: SecretOwner }): SecretRecord[];
  allValues(): SecretRecord[];
  valuesNotUnder(projectId: string, keyId: string, limit: number): SecretRecord[];
  replaceCiphertext(id: string, expected: string, keyId: string, ciphertext: string): boolean;
}

export interface EnvGroupRecord {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly createdAt: string;
}

export interface EnvGroupRows {
  ensure(projectId: string, name: string, now: string): { row: EnvGroupRecord; created: boolean };
  byName(projectId: string, name: string): EnvGroupRecord | undefined;
  list(projectId: string): EnvGroupRecord[];
  remove(projectId: string, name: string): boolean;
}
