/**
 * The keyring: one AES-256-GCM data key per project (versioned; the newest is active, older ones
 * only decrypt), each stored wrapped by the key-encryption key. Every ciphertext names its data
 * key, and its associated data binds the project and the key's version plus whatever context the
 * caller adds (environment, owner, variable name), so a value cannot be moved elsewhere.
 */
import { randomBytes } from "node:crypto";
import type { Clock } from "../core/clock.ts";
import { systemClock } from "../core/clock.ts";
import { BerthError } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import type { CipherFormat } from "./aead.ts";
import { KEY_BYTES, open, parseEnvelope, seal } from "./aead.ts";
import type { Kek } from "./kek.ts";
import type { DataKeyRecord, SecretRows } from "./ports.ts";

interface OpenKey {
  readonly id: string;
  readonly projectId: string;
  readonly version: number;
  readonly key: Buffer;
}

export interface DecryptResult {
  readonly plaintext: Buffer;
  readonly projectId: string;
  readonly keyId: string;
}

export class Keyring {
  readonly #repo: SecretRows;
  readonly #clock: Clock;
  /** Current KEK first; the rest only unwrap (kept during a rotation). */
  #keks: Kek[];
  readonly #open = new Map<string, OpenKey>();

  constructor(repo: SecretRows, keks: readonly Kek[], clock: Clock = systemClock) {
    if (keks.length === 0) throw new Error("Keyring needs at least one key-encryption key");
    this.#repo = repo;
    this.#keks = [...keks];
    this.#clock = clock;
  }

  /** Id of the KEK new data keys are wrapped with. */
  get currentKekId(): string {
    return this.#keks[0]!.id;
  }

  /** The loaded KEKs, current first (for rewriting the key file during a rotation). */
  get keks(): readonly Kek[] {
    return [...this.#keks];
  }

  get kekIds(): string[] {
    return this.#keks.map((k) => k.id);
  }

  /** Makes `kek` the current KEK, keeping the others for unwrapping until `forgetKeks`. */
  useKek(kek: Kek): void {
    this.#keks = [kek, ...this.#keks.filter((k) => k.id !== kek.id)];
  }

  /** Drops every KEK but the current one (after `rewrapAll`). */
  forgetOldKeks(): void {
    this.#keks = [this.#keks[0]!];
  }

  /** Encrypts with the project's active data key (created on first use). */
  encrypt(projectId: string, format: CipherFormat, context: readonly string[], plaintext: Buffer): { keyId: string; ciphertext: string } {
    const dk = this.#active(projectId);
    return { keyId: dk.id, ciphertext: seal(format, dk.id, dk.key, plaintext, [dk.projectId, dk.version, ...context]) };
  }

  /**
   * Decrypts and authenticates. `projectId` undefined means "whichever project the key belongs
   * to" (sealed envs carry no project); the caller then checks the returned project.
   */
  decrypt(projectId: string | undefined, format: CipherFormat, context: readonly string[], text: string, what: string): DecryptResult {
    const env = parseEnvelope(text, what, format);
    const dk = this.#byId(env.keyId, what);
    const project = projectId ?? dk.projectId;
    const plaintext = project === dk.projectId ? open(env, dk.key, [project, dk.version, ...context]) : undefined;
    if (!plaintext) throw new BerthError("BERTH_SECRETS_DECRYPT_FAILED", { what, keyId: env.keyId });
    return { plaintext, projectId: dk.projectId, keyId: dk.id };
  }

  /** Key id of a ciphertext without decrypting it. */
  keyIdOf(text: string, format: CipherFormat, what: string): string {
    return parseEnvelope(text, what, format).keyId;
  }

  activeKeyId(projectId: string): string {
    return this.#active(projectId).id;
  }

  /** Starts a new data key version for the project; the previous one is retired (decrypt only). */
  rotateDataKey(projectId: string): { from: number; to: number; keyId: string } {
    return this.#repo.tx(() => {
      const current = this.#repo.activeDataKey(projectId);
      const now = new Date(this.#clock.now()).toISOString();
      if (current) this.#repo.retireDataKey(current.id, now);
      const created = this.#create(projectId);
      return { from: current?.version ?? 0, to: created.version, keyId: created.id };
    });
  }

  /** Unwraps every stored data key; returns the ids that failed (wrong or missing KEK, tampering). */
  verifyAll(): { ok: number; failed: { keyId: string; projectId: string; reason: string }[] } {
    let ok = 0;
    const failed: { keyId: string; projectId: string; reason: string }[] = [];
    for (const row of this.#repo.allDataKeys()) {
      try {
        this.#unwrap(row, false);
        ok++;
      } catch (e) {
        failed.push({ keyId: row.id, projectId: row.projectId, reason: (e as Error).message });
      }
    }
    return { ok, failed };
  }

  /** Data keys not yet wrapped by the current KEK. */
  staleWrapped(): number {
    return this.#repo.allDataKeys().filter((r) => r.kekId !== this.currentKekId).length;
  }

  /**
   * Re-wraps every data key not wrapped by the current KEK, in one transaction: the store holds
   * either all old wrappings or all new ones, and both stay readable while both KEKs are loaded.
   */
  rewrapAll(): number {
    const kek = this.#keks[0]!;
    return this.#repo.tx(() => {
      let n = 0;
      for (const row of this.#repo.allDataKeys()) {
        if (row.kekId === kek.id) continue;
        const key = this.#unwrap(row).key;
        this.#repo.rewrapDataKey(row.id, kek.id, seal("bk1", kek.id, kek.key, key, [row.projectId, row.id, row.version]));
        n++;
      }
      return n;
    });
  }

  #active(projectId: string): OpenKey {
    return this.#repo.tx(() => {
      const row = this.#repo.activeDataKey(projectId);
      return row ? this.#unwrap(row) : this.#create(projectId);
    });
  }

  #byId(keyId: string, what: string): OpenKey {
    const cached = this.#open.get(keyId);
    if (cached) return cached;
    const row = this.#repo.dataKey(keyId);
    if (!row) throw new BerthError("BERTH_SECRETS_UNKNOWN_KEY", { what, keyId });
    return this.#unwrap(row);
  }

  #create(projectId: string): OpenKey {
    const kek = this.#keks[0]!;
    const version = this.#repo.latestVersion(projectId) + 1;
    const id = newId("dk");
    const key = randomBytes(KEY_BYTES);
    const wrapped = seal("bk1", kek.id, kek.key, key, [projectId, id, version]);
    this.#repo.insertDataKey({ id, projectId, version, state: "active", kekId: kek.id, wrapped, createdAt: new Date(this.#clock.now()).toISOString() });
    const dk = { id, projectId, version, key };
    this.#open.set(id, dk);
    return dk;
  }

  /** `useCache: false` really unwraps again (the self-test must prove the KEK, not the cache). */
  #unwrap(row: DataKeyRecord, useCache = true): OpenKey {
    const cached = useCache ? this.#open.get(row.id) : undefined;
    if (cached) return cached;
    const what = `data key ${row.id}`;
    const env = parseEnvelope(row.wrapped, what, "bk1");
    const kek = this.#keks.find((k) => k.id === env.keyId);
    if (!kek || env.keyId !== row.kekId) {
      throw new BerthError("BERTH_SECRETS_KEK_MISSING", { keyId: row.id, project: row.projectId, kekId: env.keyId });
    }
    const key = open(env, kek.key, [row.projectId, row.id, row.version]);
    if (!key || key.length !== KEY_BYTES) throw new BerthError("BERTH_SECRETS_DECRYPT_FAILED", { what, keyId: kek.id });
    const dk = { id: row.id, projectId: row.projectId, version: row.version, key };
    this.#open.set(row.id, dk);
    return dk;
  }
}
