import { randomBytes } from "node:crypto";

/** Short random id with a readable prefix, e.g. `dep_3k9x0q2m7c1a`. Not secret. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(8).toString("base64url").toLowerCase().replace(/[^a-z0-9]/g, "").slice(0, 12).padEnd(12, "0")}`;
}

/** Names used in blueprints: lowercase letters, digits and dashes, starting with a letter. */
export const NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
