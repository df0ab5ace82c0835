/**
 * Least-privilege ownership: each database belongs to its own login role that cannot create
 * roles or databases, is no superuser, cannot replicate or bypass row security, and cannot even
 * connect to the other databases (CONNECT is revoked from PUBLIC everywhere).
 */
import { escapeIdentifier, escapeLiteral } from "pg";
import type { PgInstance } from "./instance.ts";

const ROLE_ATTRS = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT";

/** The statements for the role; the verifier is a SCRAM secret, never a plaintext password. */
export function roleStatements(user: string, verifier: string, exists: boolean): string[] {
  const verb = exists ? "ALTER" : "CREATE";
  return [`${verb} ROLE ${escapeIdentifier(user)} ${ROLE_ATTRS} PASSWORD ${escapeLiteral(verifier)}`];
}

/** Statements run in the server's `postgres` database once the database exists. */
export function databaseStatements(database: string, user: string): string[] {
  const db = escapeIdentifier(database);
  const role = escapeIdentifier(user);
  return [`ALTER DATABASE ${db} OWNER TO ${role}`, `REVOKE ALL ON DATABASE ${db} FROM PUBLIC`, `GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO ${role}`, "REVOKE ALL ON DATABASE postgres FROM PUBLIC", "REVOKE ALL ON DATABASE template1 FROM PUBLIC"];
}

/** Creates or updates role and database; idempotent. */
export async function ensureDatabase(inst: PgInstance, database: string, user: string, verifier: string): Promise<void> {
  const c = await inst.client();
  try {
    const role = await c.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [user]);
    for (const s of roleStatements(user, verifier, (role.rowCount ?? 0) > 0)) await c.query(s);
    const db = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if ((db.rowCount ?? 0) === 0) await c.query(`CREATE DATABASE ${escapeIdentifier(database)} OWNER ${escapeIdentifier(user)} TEMPLATE template0 ENCODING 'UTF8'`);
    for (const s of databaseStatements(database, user)) await c.query(s);
  } finally {
    await c.end().catch(() => {});
  }
  // Inside the database: the app owns the public schema; nobody else may create objects in it.
  const d = await inst.client(database);
  try {
    await d.query(`ALTER SCHEMA public OWNER TO ${escapeIdentifier(user)}`);
    await d.query("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
  } finally {
    await d.end().catch(() => {});
  }
}

/** Sets a new password verifier for an existing role. */
export async function setRoleVerifier(inst: PgInstance, user: string, verifier: string): Promise<void> {
  await inst.query(`ALTER ROLE ${escapeIdentifier(user)} PASSWORD ${escapeLiteral(verifier)}`);
}
