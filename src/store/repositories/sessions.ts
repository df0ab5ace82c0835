/**
 * Dashboard sessions (issue 21): a browser's login, made from an API token. The session id is
 * returned once (it becomes an HttpOnly cookie); only its SHA-256 is stored, so a copy of the
 * store logs nobody in. A session has a fixed expiry and dies with its token (revoked tokens are
 * refused by the caller, deleted tokens cascade).
 */
import { createHash, randomBytes } from "node:crypto";
import type { Db } from "../db.ts";

const hashId = (id: string): string => createHash("sha256").update(id).digest("hex");

export class SessionRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  /** Opens a session for a token; returns the session id (shown once). Expired sessions are swept here. */
  create(tokenId: string, now: string, expiresAt: string): string {
    const id = randomBytes(32).toString("base64url");
    this.#db.sql.prepare("DELETE FROM sessions WHERE expires_at <= ?").run(now);
    this.#db.sql.prepare("INSERT INTO sessions (id_hash, token_id, created_at, expires_at) VALUES (?, ?, ?, ?)").run(hashId(id), tokenId, now, expiresAt);
    return id;
  }

  /** The id of the token behind a live session, or undefined (unknown or expired). */
  tokenIdOf(id: string, now: string): string | undefined {
    const r = this.#db.sql.prepare("SELECT token_id FROM sessions WHERE id_hash = ? AND expires_at > ?").get(hashId(id), now) as { token_id: string } | undefined;
    return r?.token_id;
  }

  /** Ends a session (logout); unknown ids are ignored. */
  delete(id: string): void {
    this.#db.sql.prepare("DELETE FROM sessions WHERE id_hash = ?").run(hashId(id));
  }
}
