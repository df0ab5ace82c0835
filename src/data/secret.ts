import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";

/** A generated password: 32 url-safe characters (192 bits), no quoting needed anywhere. */
export function generatePassword(): string {
  return randomBytes(24).toString("base64url");
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677). Computing it here
 * means the plaintext never reaches the server (no statement log can leak it) and PgBouncer can
 * log in to the server with the same verifier.
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

/** Replaces every occurrence of the given secrets, for text that may reach logs or errors. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join("***");
  return out.replace(/(postgres(?:ql)?|redis):\/\/([^:@/\s]+):[^@\s]+@/g, "$1://$2:***@");
}

/**
 * Whether `password` is the one a stored SCRAM-SHA-256 verifier was made from: recomputed with
 * the verifier's own salt and iteration count. Lets provisioning leave an unchanged role alone
 * instead of re-setting its password (a catalog write, and WAL, every reconcile).
 */
export function scramMatches(password: string, verifier: string | null | undefined): boolean {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier ?? "");
  if (!m) return false;
  return scramVerifier(password, Buffer.from(m[2]!, "base64"), Number(m[1])) === verifier;
}
