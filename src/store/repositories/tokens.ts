import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { BerthError } from "../../core/errors.ts";
import { newId } from "../../core/ids.ts";
import type { Db } from "../db.ts";
import { fromJson, toJson } from "../db.ts";

export type Role = "owner" | "deployer" | "viewer";
export const ROLES: readonly Role[] = ["viewer", "deployer", "owner"];

/** True when `have` grants at least `need`. */
export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export interface TokenRow {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  /** Project names the token may act on; empty means all. */
  readonly projects: readonly string[];
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
}

interface Raw {
  id: string;
  name: string;
  hash: string;
  role: Role;
  projects: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}
const toRow = (r: Raw): TokenRow => ({
  id: r.id,
  name: r.name,
  role: r.role,
  projects: fromJson(r.projects),
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});

const PREFIX = "berth_";
const hashToken = (token: string): string => createHash("sha256").update(token).digest("hex");

/** API tokens: only a SHA-256 hash is stored; the token is returned once, at creation. */
export class TokenRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  create(input: { name: string; role: Role; projects?: readonly string[] }, now: string): { token: string; row: TokenRow } {
    if (this.#db.sql.prepare("SELECT 1 FROM tokens WHERE name = ?").get(input.name)) {
      throw new BerthError("BERTH_CONFLICT", { kind: "token", name: input.name });
    }
    const token = PREFIX + randomBytes(24).toString("base64url");
    const id = newId("tok");
    this.#db.sql
      .prepare("INSERT INTO tokens (id, name, hash, role, projects, created_at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(id, input.name, hashToken(token), input.role, toJson(input.projects ?? []), now);
    return { token, row: this.byName(input.name)! };
  }

  /** Looks a presented token up by hash, with a constant-time compare of the hashes. */
  verify(token: string, now: string): TokenRow | undefined {
    if (!token.startsWith(PREFIX)) return undefined;
    const hash = hashToken(token);
    const r = this.#db.sql.prepare("SELECT * FROM tokens WHERE hash = ? AND revoked_at IS NULL").get(hash) as Raw | undefined;
    if (!r || !timingSafeEqual(Buffer.from(r.hash), Buffer.from(hash))) return undefined;
    this.#db.sql.prepare("UPDATE tokens SET last_used_at = ? WHERE id = ?").run(now, r.id);
    return toRow(r);
  }

  byId(id: string): TokenRow | undefined {
    const r = this.#db.sql.prepare("SELECT * FROM tokens WHERE id = ?").get(id) as Raw | undefined;
    return r && toRow(r);
  }

  byName(name: string): TokenRow | undefined {
    const r = this.#db.sql.prepare("SELECT * FROM tokens WHERE name = ?").get(name) as Raw | undefined;
    return r && toRow(r);
  }

  list(): TokenRow[] {
    return (this.#db.sql.prepare("SELECT * FROM tokens ORDER BY created_at").all() as unknown as Raw[]).map(toRow);
  }

  count(): number {
    return (this.#db.sql.prepare("SELECT COUNT(*) AS n FROM tokens").get() as { n: number }).n;
  }

  revoke(name: string, now: string): void {
    const r = this.#db.sql.prepare("UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL").run(now, name);
    if (Number(r.changes) === 0) throw new BerthError("BERTH_NOT_FOUND", { kind: "token", name });
  }
}
