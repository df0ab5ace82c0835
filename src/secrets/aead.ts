/**
 * AES-256-GCM with associated data, and the one text format every Berth ciphertext uses:
 *
 *     <format>:<keyId>:<iv, base64url>:<ciphertext + 16-byte tag, base64url>
 *
 * `format` names both what the plaintext is and the format version (`bv1` = a secret value,
 * `bk1` = a wrapped data key, `bs1` = a sealed release env), so a later version can change the
 * layout and old ciphertexts stay readable. The key id is in clear so a reader knows which key
 * to use; it is also bound into the associated data, with whatever else the caller binds
 * (project, key version, variable name), so a ciphertext cannot be replayed in another place.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { BerthError } from "../core/errors.ts";

export type CipherFormat = "bv1" | "bk1" | "bs1";
const FORMATS: readonly string[] = ["bv1", "bk1", "bs1"];

export const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A parsed ciphertext; `body` is ciphertext followed by the GCM tag. */
export interface Envelope {
  readonly format: CipherFormat;
  readonly keyId: string;
  readonly iv: Buffer;
  readonly body: Buffer;
}

/** Associated data: a JSON array, so fields can never run into each other. */
export function associatedData(format: CipherFormat, keyId: string, fields: readonly (string | number)[]): Buffer {
  return Buffer.from(JSON.stringify(["berth", format, keyId, ...fields]), "utf8");
}

/** Encrypts `plaintext` under `key`; `fields` are bound as associated data. */
export function seal(format: CipherFormat, keyId: string, key: Buffer, plaintext: Buffer, fields: readonly (string | number)[]): string {
  if (key.length !== KEY_BYTES) throw new Error(`AES-256 key must be ${KEY_BYTES} bytes`);
  if (!ID_PATTERN.test(keyId)) throw new Error(`bad key id '${keyId}'`);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(format, keyId, fields));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return `${format}:${keyId}:${iv.toString("base64url")}:${body.toString("base64url")}`;
}

/** Splits a ciphertext into its parts; `what` names it in errors (never its content). */
export function parseEnvelope(text: string, what: string, expected: CipherFormat): Envelope {
  const parts = text.split(":");
  const fail = (detail: string): never => {
    throw new BerthError("BERTH_SECRETS_FORMAT", { what, detail });
  };
  if (parts.length !== 4) return fail(`expected 4 ':'-separated parts, found ${parts.length}`);
  const [format, keyId, ivText, bodyText] = parts as [string, string, string, string];
  if (!FORMATS.includes(format)) return fail(`unknown format '${format.slice(0, 8)}'`);
  if (format !== expected) return fail(`format ${format} where ${expected} was expected`);
  if (!ID_PATTERN.test(keyId)) return fail("malformed key id");
  const b64 = /^[A-Za-z0-9_-]*$/;
  if (!b64.test(ivText) || !b64.test(bodyText)) return fail("not base64url");
  const iv = Buffer.from(ivText, "base64url");
  const body = Buffer.from(bodyText, "base64url");
  // Decoders ignore stray trailing bits; a damaged text must not pass because of that.
  if (iv.toString("base64url") !== ivText || body.toString("base64url") !== bodyText) return fail("not canonical base64url");
  if (iv.length !== IV_BYTES) return fail("bad iv length");
  if (body.length < TAG_BYTES) return fail("truncated");
  return { format: format as CipherFormat, keyId, iv, body };
}

/** Decrypts and authenticates; returns undefined when the tag does not verify. */
export function open(envelope: Envelope, key: Buffer, fields: readonly (string | number)[]): Buffer | undefined {
  const tag = envelope.body.subarray(envelope.body.length - TAG_BYTES);
  const data = envelope.body.subarray(0, envelope.body.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, envelope.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData(envelope.format, envelope.keyId, fields));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    return undefined;
  }
}
