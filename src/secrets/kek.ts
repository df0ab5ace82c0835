/**
 * The key-encryption key (KEK): from a file (created at first use, mode 0600) or from a value the
 * resolved config read out of an environment variable. A source holds one or more keys, the
 * current one first: the others only unwrap, which is how a rotation keeps everything readable.
 */
import { createHmac, randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { BerthError } from "../core/errors.ts";
import { KEY_BYTES } from "./aead.ts";

/** Where the KEK comes from; resolved once at the edge. `value` text: base64 keys, current first. */
export type KekSource =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "value"; readonly value: string; readonly origin: string };

export interface Kek {
  /** Fingerprint of the key (not reversible); stored next to every data key it wraps. */
  readonly id: string;
  readonly key: Buffer;
}

export interface LoadedKeks {
  /** Current key first. */
  readonly keks: readonly Kek[];
  /** True when the file did not exist and was just created. */
  readonly created: boolean;
  readonly warnings: readonly string[];
}

export const BACKUP_WARNING =
  "A new key-encryption key was created. BACK IT UP NOW, away from this machine: without it every secret in the store is unrecoverable.";

/** `kek-` + 16 hex chars of HMAC(key, label): identifies a key without revealing it. */
export function kekId(key: Buffer): string {
  return `kek-${createHmac("sha256", key).update("berth key-encryption key id v1").digest("hex").slice(0, 16)}`;
}

export function newKek(): Kek {
  const key = randomBytes(KEY_BYTES);
  return { id: kekId(key), key };
}

/** Parses base64 keys separated by newlines or commas; `#` lines are comments. */
export function parseKeks(text: string, source: string): Kek[] {
  const items = text
    .split(/[\n,]/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  if (items.length === 0) throw new BerthError("BERTH_SECRETS_KEK_INVALID", { source, detail: "no key found" });
  return items.map((item, i) => {
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(item)) {
      throw new BerthError("BERTH_SECRETS_KEK_INVALID", { source, detail: `key #${i + 1} is not base64` });
    }
    const key = Buffer.from(item, item.includes("-") || item.includes("_") ? "base64url" : "base64");
    if (key.length !== KEY_BYTES) {
      throw new BerthError("BERTH_SECRETS_KEK_INVALID", { source, detail: `key #${i + 1} is ${key.length} bytes, not ${KEY_BYTES}` });
    }
    return { id: kekId(key), key };
  });
}

/** The text of a key file: a warning comment, then the keys (current first). */
export function formatKekFile(keks: readonly Kek[]): string {
  return [
    "# Berth key-encryption key. BACK THIS FILE UP: without it every secret is lost.",
    "# The first key encrypts; any further keys only decrypt (they are kept during a rotation).",
    ...keks.map((k) => k.key.toString("base64")),
    "",
  ].join("\n");
}

/** Writes the key file atomically (temp file, fsync, rename), mode 0600. */
export function writeKekFile(path: string, keks: readonly Kek[]): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = join(dirname(path), `.${Date.now()}-${randomBytes(4).toString("hex")}.kek.tmp`);
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, formatKekFile(keks));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  // Make the rename itself durable before anything is wrapped with the new key.
  const dirFd = openSync(dirname(path), "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/** Loads the KEKs; a missing key file is created (0600) with a fresh key and a backup warning. */
export function loadKeks(source: KekSource): LoadedKeks {
  if (source.kind === "value") return { keks: parseKeks(source.value, source.origin), created: false, warnings: [] };
  const text = readIfExists(source.path);
  if (text === undefined) {
    const kek = newKek();
    writeKekFile(source.path, [kek]);
    return { keks: [kek], created: true, warnings: [`${BACKUP_WARNING} (${source.path})`] };
  }
  const warnings: string[] = [];
  const mode = statSync(source.path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    warnings.push(`key file ${source.path} has mode ${mode.toString(8)}; run \`chmod 600 ${source.path}\``);
  }
  return { keks: parseKeks(text, source.path), created: false, warnings };
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new BerthError("BERTH_SECRETS_KEK_INVALID", { source: path, detail: (e as Error).message }, { cause: e });
  }
}
