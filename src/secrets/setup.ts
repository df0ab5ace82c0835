/**
 * Start-up of the secrets subsystem: load the KEK, prove the crypto works and that every stored
 * data key and value decrypts (refusing to start otherwise), then finish any KEK rotation that
 * was interrupted or requested through the environment (`NEW,OLD`).
 */
import { randomBytes } from "node:crypto";
import type { Clock } from "../core/clock.ts";
import { systemClock } from "../core/clock.ts";
import { BerthError } from "../core/errors.ts";
import type { EventSink } from "../core/events.ts";
import { KEY_BYTES, open, parseEnvelope, seal } from "./aead.ts";
import type { KekSource } from "./kek.ts";
import { loadKeks, writeKekFile } from "./kek.ts";
import { Keyring } from "./keyring.ts";
import type { EnvGroupRows, ProjectRef, SecretOwner, SecretRows } from "./ports.ts";
import { SecretStore } from "./store.ts";

export interface OpenSecretsOptions {
  readonly rows: SecretRows;
  readonly groups: EnvGroupRows;
  readonly kek: KekSource;
  readonly events?: EventSink;
  readonly clock?: Clock;
  readonly onChange?: (project: ProjectRef, environment: string, owner: SecretOwner) => void;
}

export interface SelfTestReport {
  readonly dataKeys: number;
  readonly values: number;
  readonly ms: number;
}

export interface Secrets {
  readonly keyring: Keyring;
  readonly store: SecretStore;
  readonly kek: KekSource;
  readonly selfTest: SelfTestReport;
  /** For the operator: a new key file to back up, loose file permissions, an old key to remove. */
  readonly warnings: readonly string[];
}

/** Opens the keyring and the store; throws BERTH_SECRETS_SELFTEST_FAILED rather than start broken. */
export function openSecrets(options: OpenSecretsOptions): Secrets {
  const clock = options.clock ?? systemClock;
  const loaded = loadKeks(options.kek);
  const warnings = [...loaded.warnings];
  if (loaded.created && options.kek.kind === "file") {
    options.events?.emit({
      type: "secrets:kek-created",
      actor: "system",
      data: { path: options.kek.path, kekId: loaded.keks[0]!.id, warning: loaded.warnings[0] ?? "" },
    });
  }
  const keyring = new Keyring(options.rows, loaded.keks, clock);
  const store = new SecretStore({
    rows: options.rows,
    groups: options.groups,
    keyring,
    clock,
    ...(options.events ? { events: options.events } : {}),
    ...(options.onChange ? { onChange: options.onChange } : {}),
  });
  const report = selfTest(keyring, store, clock, options.events);
  if (keyring.staleWrapped() > 0) {
    const fromKekIds = keyring.kekIds;
    const rewrapped = keyring.rewrapAll();
    options.events?.emit({ type: "secrets:kek-rotated", actor: "system", data: { fromKekIds, toKekId: keyring.currentKekId, dataKeys: rewrapped } });
  }
  if (keyring.kekIds.length > 1) {
    keyring.forgetOldKeks();
    if (options.kek.kind === "file") writeKekFile(options.kek.path, keyring.keks);
    else warnings.push(`every data key is now wrapped by the first key of ${options.kek.origin}; remove the older key(s) from it`);
  }
  return { keyring, store, kek: options.kek, selfTest: report, warnings };
}

/**
 * Encrypt/decrypt round trip (and a tamper check) with fresh keys, then unwraps every stored data
 * key and decrypts every stored value. Any failure throws, naming keys and variables only.
 */
export function selfTest(keyring: Keyring, store: SecretStore, clock: Clock = systemClock, events?: EventSink): SelfTestReport {
  const started = clock.now();
  const fail = (detail: string, details: readonly unknown[] = []): never => {
    events?.emit({ type: "secrets:self-test:failed", actor: "system", data: { reason: detail } });
    throw new BerthError("BERTH_SECRETS_SELFTEST_FAILED", { detail }, { details });
  };
  const key = randomBytes(KEY_BYTES);
  const probe = randomBytes(48);
  const text = seal("bv1", "selftest", key, probe, ["self-test"]);
  const back = open(parseEnvelope(text, "self-test probe", "bv1"), key, ["self-test"]);
  if (!back?.equals(probe)) fail("AES-256-GCM round trip returned different bytes");
  if (open(parseEnvelope(text, "self-test probe", "bv1"), key, ["other"])) fail("AES-256-GCM accepted wrong associated data");

  const keys = keyring.verifyAll();
  if (keys.failed.length > 0) {
    const first = keys.failed[0]!;
    fail(`${keys.failed.length} of ${keys.failed.length + keys.ok} data keys cannot be unwrapped (first: ${first.keyId}: ${first.reason})`, keys.failed);
  }
  const values = store.verifyAll();
  if (values.failed.length > 0) {
    const first = values.failed[0]!;
    fail(`${values.failed.length} of ${values.failed.length + values.ok} stored values cannot be decrypted (first: ${first.what}: ${first.reason})`, values.failed);
  }
  const report = { dataKeys: keys.ok, values: values.ok, ms: clock.now() - started };
  events?.emit({ type: "secrets:self-test", actor: "system", data: report });
  return report;
}
