/**
 * The secret store: env values managed outside berth.yaml (set through the CLI, or generated
 * once), per project, environment (`*` = every environment) and owner (a service or an env
 * group). Values are write-only by default: `list` returns names and where each comes from;
 * `get` returns a value and is for the owner role, audited by the caller (`secret:read`).
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { Clock } from "../core/clock.ts";
import { systemClock } from "../core/clock.ts";
import { BerthError } from "../core/errors.ts";
import type { EventSink } from "../core/events.ts";
import type { Keyring } from "./keyring.ts";
import type { NamedValue, RedactorOptions } from "./redact.ts";
import { Redactor } from "./redact.ts";
import type { EnvGroupRecord, EnvGroupRows, ProjectRef, SecretOwner, SecretRecord, SecretRows } from "./ports.ts";

/** Where a stored value lives. */
export interface SecretRef {
  readonly project: ProjectRef;
  /** An environment name, or `*` for the default of every environment. */
  readonly environment: string;
  readonly owner: SecretOwner;
  readonly name: string;
}

/** What `list` shows: never a value. */
export interface SecretListing {
  /** Set by `set` when the value cannot be masked in output (too short). */
  readonly warning?: string;
  readonly environment: string;
  readonly owner: SecretOwner;
  readonly name: string;
  readonly source: "set" | "generated";
  readonly keyId: string;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

/** Opened values by owner (`service:api`, `group:external`), environment-specific over `*`. */
export type OpenedSecrets = Readonly<Record<SecretOwner, Readonly<Record<string, string>>>>;

export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const OWNER_PATTERN = /^(service|group):[a-z][a-z0-9-]{0,62}$/;
/** Environment-variable values are capped so a mistake cannot bloat every release. */
const MAX_VALUE_BYTES = 64 * 1024;

/** Bound into each value's associated data: moving a ciphertext to another row breaks it. */
export function valueContext(environment: string, owner: SecretOwner, name: string): string[] {
  return ["value", environment, owner, name];
}

/** A generated secret: by default 32 random bytes as base64url (43 characters). */
export function generateSecretValue(encoding: "secret" | "hex" | "base64" | "uuid" = "secret", lengthBytes = 32): string {
  if (encoding === "uuid") return randomUUID();
  const bytes = randomBytes(Math.min(Math.max(lengthBytes, 16), 1024));
  return encoding === "hex" ? bytes.toString("hex") : encoding === "base64" ? bytes.toString("base64") : bytes.toString("base64url");
}

export interface SecretStoreDeps {
  readonly rows: SecretRows;
  readonly groups: EnvGroupRows;
  readonly keyring: Keyring;
  readonly events?: EventSink;
  readonly clock?: Clock;
  /** Called after any change, e.g. to rebuild the redactor and enqueue a reconcile. */
  readonly onChange?: (project: ProjectRef, environment: string, owner: SecretOwner) => void;
}

export class SecretStore {
  readonly #d: SecretStoreDeps;
  readonly #clock: Clock;
  /** Decrypted values for redaction, dropped on every change. */
  #values: NamedValue[] | undefined;
  constructor(deps: SecretStoreDeps) {
    this.#d = deps;
    this.#clock = deps.clock ?? systemClock;
  }

  /** Stores (or replaces) a value, encrypted under the project's active data key. */
  set(ref: SecretRef, value: string, actor: string, source: "set" | "generated" = "set"): SecretListing {
    validateRef(ref);
    if (Buffer.byteLength(value) > MAX_VALUE_BYTES) {
      throw new BerthError("BERTH_BAD_REQUEST", { detail: `value of ${ref.name} is larger than ${MAX_VALUE_BYTES} bytes` });
    }
    const { keyId, ciphertext } = this.#d.keyring.encrypt(ref.project.id, "bv1", valueContext(ref.environment, ref.owner, ref.name), Buffer.from(value, "utf8"));
    const row = this.#d.rows.upsertValue(keyOf(ref), { source, keyId, ciphertext, actor, now: this.#now() });
    this.#values = undefined;
    this.#d.events?.emit({
      type: "secret:set",
      scope: scopeOf(ref),
      actor,
      data: { environment: ref.environment, owner: ref.owner, name: ref.name, source },
    });
    this.#d.onChange?.(ref.project, ref.environment, ref.owner);
    const tooShort = value.length > 0 && new Redactor([{ name: ref.name, value }]).skipped.length > 0;
    return tooShort ? { ...listing(row), warning: `${ref.name} is too short to be masked in logs and output` } : listing(row);
  }

  /** Removes a value; false when there was none. */
  unset(ref: SecretRef, actor: string): boolean {
    validateRef(ref);
    const removed = this.#d.rows.deleteValue(keyOf(ref));
    this.#values = undefined;
    if (removed) {
      this.#d.events?.emit({ type: "secret:unset", scope: scopeOf(ref), actor, data: { environment: ref.environment, owner: ref.owner, name: ref.name } });
      this.#d.onChange?.(ref.project, ref.environment, ref.owner);
    }
    return removed;
  }

  /** Names and sources, never values. `environment` narrows to that environment plus `*`. */
  list(project: ProjectRef, filter: { environment?: string; owner?: SecretOwner } = {}): SecretListing[] {
    const environments = filter.environment ? [filter.environment, "*"] : undefined;
    return this.#d.rows.listValues(project.id, { ...(environments ? { environments } : {}), ...(filter.owner ? { owner: filter.owner } : {}) }).map(listing);
  }

  /** The value stored exactly at `ref` (no fallback to `*`). Owner role only; the caller audits. */
  get(ref: SecretRef): string {
    validateRef(ref);
    const row = this.#d.rows.value(keyOf(ref));
    if (!row) throw new BerthError("BERTH_NOT_FOUND", { kind: "secret", name: `${ref.environment}/${ref.owner}/${ref.name}` });
    return this.#decrypt(row);
  }

  /**
   * The one value that applies to `ref.environment` (its own, else the `*` default), decrypted;
   * undefined when neither is set. For Berth's own use of a credential (an alert channel's),
   * not a way to show values: nothing is audited or emitted.
   */
  read(ref: SecretRef): string | undefined {
    validateRef(ref);
    const row = this.#d.rows.value(keyOf(ref)) ?? (ref.environment === "*" ? undefined : this.#d.rows.value(keyOf({ ...ref, environment: "*" })));
    return row ? this.#decrypt(row) : undefined;
  }

  /**
   * Every value that applies to `environment`, decrypted, environment-specific over `*`. Throws
   * on the first value that fails to decrypt: a caller never gets a partial set.
   */
  openAll(project: ProjectRef, environment: string): OpenedSecrets {
    const out: Record<string, Record<string, string>> = {};
    const rows = this.#d.rows.listValues(project.id, { environments: [environment, "*"] });
    // `*` first so that environment-specific rows overwrite them.
    rows.sort((a, b) => (a.environment === "*" ? 0 : 1) - (b.environment === "*" ? 0 : 1));
    for (const row of rows) {
      out[row.owner] ??= {};
      out[row.owner]![row.name] = this.#decrypt(row);
    }
    return out as OpenedSecrets;
  }

  /**
   * Creates the generated secrets that do not exist yet, once, for this environment. Returns the
   * names created. Existing values (generated or set by hand) are never replaced.
   */
  ensureGenerated(
    project: ProjectRef,
    environment: string,
    wanted: readonly { owner: SecretOwner; name: string; encoding?: "secret" | "hex" | "base64" | "uuid"; lengthBytes?: number }[],
    actor: string,
  ): string[] {
    return this.#d.rows.tx(() => {
      const created: string[] = [];
      for (const w of wanted) {
        const ref = { project, environment, owner: w.owner, name: w.name };
        if (this.#d.rows.value(keyOf(ref)) || this.#d.rows.value(keyOf({ ...ref, environment: "*" }))) continue;
        this.set(ref, generateSecretValue(w.encoding, w.lengthBytes), actor, "generated");
        created.push(`${w.owner}/${w.name}`);
      }
      return created;
    });
  }

  /** Every stored value of every project, decrypted: the redactor's input. Throws on failure. */
  allValues(): NamedValue[] {
    this.#values ??= this.#d.rows.allValues().map((row) => ({ name: row.name, value: this.#decrypt(row) }));
    return [...this.#values];
  }

  /**
   * A redactor for every stored value plus `extra` (resolved values that embed secrets, such as
   * connection strings: `ReleaseEnvs.sensitive`). Build a new one after each change (`onChange`).
   */
  redactor(extra: readonly NamedValue[] = [], options: RedactorOptions = {}): Redactor {
    return new Redactor([...this.allValues(), ...extra], options);
  }

  /** Decrypts every stored value; returns the failures (names only) for the self-test. */
  verifyAll(): { ok: number; failed: { what: string; reason: string }[] } {
    let ok = 0;
    const failed: { what: string; reason: string }[] = [];
    for (const row of this.#d.rows.allValues()) {
      try {
        this.#decrypt(row);
        ok++;
      } catch (e) {
        failed.push({ what: describe(row), reason: (e as BerthError).code ?? "error" });
      }
    }
    return { ok, failed };
  }

  /**
   * Re-encrypts the project's values that are not under its active data key (after a data-key
   * rotation), in small transactions so writers are never blocked for long. Every value stays
   * readable throughout: old keys are retired, not deleted. Returns how many were re-encrypted.
   */
  reencrypt(project: ProjectRef, batchSize = 200, onBatch?: (reencrypted: number) => void): number {
    let total = 0;
    for (;;) {
      // Read each time: a rotation started meanwhile moves the target instead of looping forever.
      const activeKeyId = this.#d.keyring.activeKeyId(project.id);
      const batch = this.#d.rows.valuesNotUnder(project.id, activeKeyId, batchSize);
      if (batch.length === 0) return total;
      this.#d.rows.tx(() => {
        for (const row of batch) {
          const plain = Buffer.from(this.#decrypt(row), "utf8");
          const next = this.#d.keyring.encrypt(project.id, "bv1", valueContext(row.environment, row.owner, row.name), plain);
          // A concurrent `set` may have replaced the row; its value is already under the new key.
          if (this.#d.rows.replaceCiphertext(row.id, row.ciphertext, next.keyId, next.ciphertext)) total++;
        }
      });
      onBatch?.(total);
    }
  }

  // --- env groups ---

  createGroup(project: ProjectRef, name: string, actor: string): EnvGroupRecord {
    validateOwner(`group:${name}`);
    const { row, created } = this.#d.groups.ensure(project.id, name, this.#now());
    if (created) this.#d.events?.emit({ type: "envgroup:created", scope: { project: project.name }, actor, data: { group: name } });
    return row;
  }

  listGroups(project: ProjectRef): EnvGroupRecord[] {
    return this.#d.groups.list(project.id);
  }

  /** Deletes the group and every value stored for it. */
  removeGroup(project: ProjectRef, name: string, actor: string): boolean {
    const removed = this.#d.rows.tx(() => {
      const n = this.#d.rows.deleteOwner(project.id, `group:${name}`);
      return this.#d.groups.remove(project.id, name) || n > 0;
    });
    this.#values = undefined;
    if (removed) {
      this.#d.events?.emit({ type: "envgroup:removed", scope: { project: project.name }, actor, data: { group: name } });
      this.#d.onChange?.(project, "*", `group:${name}`);
    }
    return removed;
  }

  #decrypt(row: SecretRecord): string {
    return this.#d.keyring.decrypt(row.projectId, "bv1", valueContext(row.environment, row.owner, row.name), row.ciphertext, describe(row)).plaintext.toString("utf8");
  }

  #now(): string {
    return new Date(this.#clock.now()).toISOString();
  }
}

function keyOf(ref: SecretRef) {
  return { projectId: ref.project.id, environment: ref.environment, owner: ref.owner, name: ref.name };
}

function scopeOf(ref: SecretRef) {
  return ref.environment === "*" ? { project: ref.project.name } : { project: ref.project.name, environment: ref.environment };
}

/** Names a row in errors: where it is, never what it holds. */
function describe(row: SecretRecord): string {
  return `secret ${row.name} of ${row.owner} (environment ${row.environment})`;
}

function listing(row: SecretRecord): SecretListing {
  return { environment: row.environment, owner: row.owner, name: row.name, source: row.source, keyId: row.keyId, updatedAt: row.updatedAt, updatedBy: row.updatedBy };
}

function validateOwner(owner: string): void {
  if (!OWNER_PATTERN.test(owner)) throw new BerthError("BERTH_BAD_REQUEST", { detail: `'${owner}' is not service:<name> or group:<name>` });
}

function validateRef(ref: SecretRef): void {
  if (!ENV_NAME_PATTERN.test(ref.name)) throw new BerthError("BERTH_SECRETS_NAME_INVALID", { name: ref.name });
  validateOwner(ref.owner);
  if (ref.environment !== "*" && !/^[a-z][a-z0-9-]{0,62}$/.test(ref.environment)) {
    throw new BerthError("BERTH_BAD_REQUEST", { detail: `'${ref.environment}' is not an environment name or *` });
  }
}
