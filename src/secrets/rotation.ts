/**
 * Key rotation without downtime. Both rotations keep every ciphertext readable at every moment:
 *
 * - Data key: a new version becomes active (new writes use it), the old one is retired but kept
 *   for decryption, then the project's values are re-encrypted in small transactions. Sealed
 *   release envs stay readable under the retired key; `resealEnv` moves one forward.
 * - KEK (file source): the key file is rewritten atomically with the new key first and the old
 *   one after it, every data key is re-wrapped in one transaction, then the old key is dropped
 *   from the file. A crash in between leaves a file holding both keys, which the next start
 *   finishes (see `openSecrets`). With a KEK from an environment variable, set it to
 *   `NEW,OLD` and restart: start-up re-wraps, after which `OLD` can be removed.
 */
import type { Clock } from "../core/clock.ts";
import { systemClock } from "../core/clock.ts";
import { BerthError } from "../core/errors.ts";
import type { EventSink } from "../core/events.ts";
import type { Kek, KekSource } from "./kek.ts";
import { newKek, writeKekFile } from "./kek.ts";
import type { Keyring } from "./keyring.ts";
import type { ProjectRef } from "./ports.ts";
import type { SecretStore } from "./store.ts";

export interface DataKeyRotation {
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly keyId: string;
  readonly reencrypted: number;
  readonly ms: number;
}

/** Starts a new data key for the project and re-encrypts its stored values under it. */
export function rotateDataKey(
  deps: { keyring: Keyring; store: SecretStore; events?: EventSink; clock?: Clock },
  project: ProjectRef,
  actor: string,
  options: { batchSize?: number; onBatch?: (reencrypted: number) => void } = {},
): DataKeyRotation {
  const clock = deps.clock ?? systemClock;
  const started = clock.now();
  const { from, to, keyId } = deps.keyring.rotateDataKey(project.id);
  const reencrypted = deps.store.reencrypt(project, options.batchSize, options.onBatch);
  const result = { fromVersion: from, toVersion: to, keyId, reencrypted, ms: clock.now() - started };
  deps.events?.emit({
    type: "secrets:data-key-rotated",
    scope: { project: project.name },
    actor,
    data: { fromVersion: from, toVersion: to, keyId, reencrypted },
  });
  return result;
}

/** The points of a KEK rotation at which the store and the key file are consistent. */
export type KekRotationStep = "key-file-written" | "rewrapped" | "old-keys-dropped";

export interface KekRotation {
  readonly fromKekIds: string[];
  readonly toKekId: string;
  readonly rewrapped: number;
}

/**
 * Replaces the KEK of a file source with a new random key (or `next`), re-wrapping every data
 * key. Values themselves are not touched: they are encrypted by data keys, not by the KEK.
 */
export function rotateKek(
  deps: { keyring: Keyring; events?: EventSink },
  source: KekSource,
  actor: string,
  next: Kek = newKek(),
  onStep?: (step: KekRotationStep) => void,
): KekRotation {
  if (source.kind !== "file") {
    throw new BerthError("BERTH_SECRETS_KEK_READONLY", { origin: source.origin });
  }
  const fromKekIds = deps.keyring.kekIds;
  // 1. Persist the new key before anything is wrapped with it, old keys kept after it.
  writeKekFile(source.path, [next, ...deps.keyring.keks.filter((k) => k.id !== next.id)]);
  deps.keyring.useKek(next);
  onStep?.("key-file-written");
  // 2. Re-wrap every data key (one transaction); all keys stay unwrappable throughout.
  const rewrapped = deps.keyring.rewrapAll();
  onStep?.("rewrapped");
  // 3. Drop the old keys from memory and from the file.
  deps.keyring.forgetOldKeks();
  writeKekFile(source.path, [next]);
  onStep?.("old-keys-dropped");
  deps.events?.emit({ type: "secrets:kek-rotated", actor, data: { fromKekIds, toKekId: next.id, dataKeys: rewrapped } });
  return { fromKekIds, toKekId: next.id, rewrapped };
}
