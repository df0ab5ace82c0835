import { defineErrors } from "./spec.ts";

/**
 * Errors of the secret store, the keyring and env resolution. Messages name keys, variables and
 * files — never a secret value.
 */
export const secretsErrors = defineErrors({
  BERTH_SECRETS_KEK_INVALID: {
    message: "key-encryption key from {source} is invalid: {detail}",
    hint: "The key must be 32 random bytes in base64 (one per line or comma-separated, the current key first). Restore it from your backup.",
    http: 500,
    exit: 2,
  },
  BERTH_SECRETS_KEK_MISSING: {
    message: "data key {keyId} of project {project} is wrapped by key-encryption key {kekId}, which is not configured",
    hint: "Configure that key-encryption key (restore the key file or BERTH_KEK from backup); during a rotation list the new key first and the old one after it.",
    http: 500,
    exit: 2,
  },
  BERTH_SECRETS_KEK_READONLY: {
    message: "the key-encryption key comes from {origin} and cannot be rotated in place",
    hint: "Set {origin} to 'NEW_KEY,OLD_KEY' (new first; `openssl rand -base64 32` makes one) and restart Berth: start-up re-wraps every data key, then remove OLD_KEY.",
    http: 409,
    exit: 5,
  },
  BERTH_SECRETS_UNKNOWN_KEY: {
    message: "{what} was encrypted with data key {keyId}, which is not in the keyring",
    hint: "The value was written by another Berth installation or its key was deleted; set the secret again.",
    http: 500,
    exit: 1,
  },
  BERTH_SECRETS_FORMAT: {
    message: "{what} is not a Berth ciphertext: {detail}",
    hint: "The stored value was changed outside Berth or written by a newer version; set it again.",
    http: 500,
    exit: 1,
  },
  BERTH_SECRETS_DECRYPT_FAILED: {
    message: "{what} failed to decrypt with data key {keyId}: the ciphertext was corrupted, moved or encrypted with another key",
    hint: "Nothing was started with a partial environment. Set the secret again (`berth env set`), or restore the store from a backup.",
    http: 500,
    exit: 1,
  },
  BERTH_SECRETS_SELFTEST_FAILED: {
    message: "secrets self-test failed: {detail}",
    hint: "Berth refuses to start rather than run services with missing secrets. Check that the key-encryption key is the one this store was created with.",
    http: 500,
    exit: 1,
  },
  BERTH_SECRETS_NAME_INVALID: {
    message: "'{name}' is not a valid environment variable name",
    hint: "Use letters, digits and underscores, not starting with a digit (e.g. DATABASE_URL).",
    http: 400,
    exit: 2,
  },
  BERTH_ENV_UNRESOLVED: {
    message: "cannot resolve {count} environment variable(s); first: {service}.{variable}: {reason}",
    hint: "Set the missing secrets with `berth env set`, or fix the references in berth.yaml; every problem is listed in details.",
    http: 422,
    exit: 2,
  },
  BERTH_ALERT_SECRET_MISSING: {
    message: "{field} reads secret {name} of env group '{group}', which has no value in environment '{environment}'{more}",
    hint: "Set it with `berth secret set --group {group} {name}=- --env {environment}` (reads the value from stdin; --env '*' sets it for every environment). {after}",
    http: 422,
    exit: 2,
  },
  BERTH_ENV_SEALED_CORRUPT: {
    message: "sealed environment of {what} cannot be opened: {detail}",
    hint: "Nothing was started. Deploy again to create a fresh release, or restore the store from a backup.",
    http: 500,
    exit: 1,
  },
});
