/**
 * Events of the secret store and keyring. They carry names, owners and key ids — never values.
 * `secret:read` is emitted by the caller of `get` (the API), which knows the source address.
 */
export interface SecretsEvents {
  "secret:set": { environment: string; owner: string; name: string; source: "set" | "generated" };
  "secret:unset": { environment: string; owner: string; name: string };
  "secret:read": { environment: string; owner: string; name: string; address: string; result: "ok" | "denied" | "failed" };
  "envgroup:created": { group: string };
  "envgroup:removed": { group: string };
  "secrets:kek-created": { path: string; kekId: string; warning: string };
  "secrets:kek-rotated": { fromKekIds: string[]; toKekId: string; dataKeys: number };
  "secrets:data-key-rotated": { fromVersion: number; toVersion: number; keyId: string; reencrypted: number };
  "secrets:self-test": { dataKeys: number; values: number; ms: number };
  "secrets:self-test:failed": { reason: string };
}
