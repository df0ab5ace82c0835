/**
 * Least-privilege ownership: each database belongs to its own login role that cannot create
 * roles or databases, is no superuser, cannot replicate or bypass row security, and cannot even
 * connect to the other databases (CONNECT is revoked from PUBLIC everywhere).
 *
 * Provisioning runs on every reconcile, so it first reads what is there and writes only what
 * differs: an unchanged role, database and schema get no ALTER, GRANT or REVOKE at all. (Each of
 * those rewrites a catalog row even when nothing changes: WAL every 30 s on an idle database,
 * and two of them at once fail with "tuple concurrently updated".)
 */
import type pg from "pg";
import { escapeIdentifier, escapeLiteral } from "pg";
import { scramMatches, scramVerifier } from "../secret.ts";
import type { PgInstance } from "./instance.ts";

const ROLE_ATTRS = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT";

/** What the catalog says about a role and its database. */
export interface ActualAccess {
  readonly role: { readonly attrsOk: boolean; readonly verifier: string | null } | undefined;
  readonly database: { readonly owner: string; readonly publicCanConnect: boolean; readonly ownerCanConnect: boolean } | undefined;
  /** Databases (postgres, template1) on which PUBLIC still has a privilege. */
  readonly openToPublic: readonly string[];
}

/**
 * The statements that bring `actual` to the wanted state, in order; empty when nothing differs.
 * Pure (the verifier for a changed password is computed by the caller's `newVerifier`).
 */
export function serverStatements(database: string, user: string, password: string, actual: ActualAccess, newVerifier: () => string): string[] {
  const db = escapeIdentifier(database);
  const role = escapeIdentifier(user);
  const server: string[] = [];
  if (!actual.role) server.push(`CREATE ROLE ${role} ${ROLE_ATTRS} PASSWORD ${escapeLiteral(newVerifier())}`);
  else {
    if (!actual.role.attrsOk) server.push(`ALTER ROLE ${role} ${ROLE_ATTRS}`);
    if (!scramMatches(password, actual.role.verifier)) server.push(`ALTER ROLE ${role} PASSWORD ${escapeLiteral(newVerifier())}`);
  }
  if (!actual.database) server.push(`CREATE DATABASE ${db} OWNER ${role} TEMPLATE template0 ENCODING 'UTF8'`);
  else if (actual.database.owner !== user) server.push(`ALTER DATABASE ${db} OWNER TO ${role}`);
  if (!actual.database || actual.database.publicCanConnect || !actual.database.ownerCanConnect) {
    server.push(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`, `GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO ${role}`);
  }
  for (const d of actual.openToPublic) server.push(`REVOKE ALL ON DATABASE ${escapeIdentifier(d)} FROM PUBLIC`);
  return server;
}

/** Inside the database: the app owns the public schema; nobody else may create objects in it. */
export function schemaStatements(user: string, schema: { readonly owner: string; readonly publicCanCreate: boolean } | undefined): string[] {
  const out: string[] = [];
  if (!schema || schema.owner !== user) out.push(`ALTER SCHEMA public OWNER TO ${escapeIdentifier(user)}`);
  if (!schema || schema.publicCanCreate) out.push("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
  return out;
}

async function readAccess(c: pg.Client, database: string, user: string): Promise<ActualAccess> {
  const role = await c.query<{ attrs_ok: boolean; rolpassword: string | null }>(
    `SELECT (rolcanlogin AND NOT rolsuper AND NOT rolcreatedb AND NOT rolcreaterole AND NOT rolreplication AND NOT rolbypassrls AND NOT rolinherit) AS attrs_ok, rolpassword
     FROM pg_authid WHERE rolname = $1`,
    [user],
  );
  const db = await c.query<{ owner: string; public_connect: boolean; owner_connect: boolean }>(
    `SELECT pg_get_userbyid(d.datdba) AS owner,
       EXISTS (SELECT 1 FROM aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba))) a WHERE a.grantee = 0) AS public_connect,
       EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = $2) AND has_database_privilege($2, d.oid, 'CONNECT, TEMPORARY') AS owner_connect
     FROM pg_database d WHERE d.datname = $1`,
    [database, user],
  );
  const open = await c.query<{ datname: string }>(
    `SELECT d.datname FROM pg_database d WHERE d.datname IN ('postgres', 'template1')
       AND EXISTS (SELECT 1 FROM aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba))) a WHERE a.grantee = 0)`,
  );
  const r = role.rows[0];
  const d = db.rows[0];
  return {
    role: r ? { attrsOk: r.attrs_ok, verifier: r.rolpassword } : undefined,
    database: d ? { owner: d.owner, publicCanConnect: d.public_connect, ownerCanConnect: d.owner_connect } : undefined,
    openToPublic: open.rows.map((x) => x.datname),
  };
}

/**
 * Creates or updates role and database, changing only what differs. Returns the statements it
 * ran (without secrets), so the caller can say what changed; empty = nothing was touched.
 */
export async function ensureDatabase(inst: PgInstance, database: string, user: string, password: string): Promise<string[]> {
  const ran: string[] = [];
  const c = await inst.client();
  let server: string[];
  try {
    server = serverStatements(database, user, password, await readAccess(c, database, user), () => scramVerifier(password));
    for (const s of server) await c.query(s);
  } finally {
    await c.end().catch(() => {});
  }
  ran.push(...server.map((s) => s.replace(/PASSWORD '.*'/, "PASSWORD '***'")));
  const d = await inst.client(database);
  try {
    const schema = await d.query<{ owner: string; public_create: boolean }>(
      `SELECT pg_get_userbyid(n.nspowner) AS owner,
         EXISTS (SELECT 1 FROM aclexplode(COALESCE(n.nspacl, acldefault('n', n.nspowner))) a WHERE a.grantee = 0 AND a.privilege_type = 'CREATE') AS public_create
       FROM pg_namespace n WHERE n.nspname = 'public'`,
    );
    const s = schema.rows[0];
    const inDatabase = schemaStatements(user, s ? { owner: s.owner, publicCanCreate: s.public_create } : undefined);
    for (const q of inDatabase) await d.query(q);
    ran.push(...inDatabase);
  } finally {
    await d.end().catch(() => {});
  }
  return ran;
}

/** Sets a new password verifier for an existing role. */
export async function setRoleVerifier(inst: PgInstance, user: string, verifier: string): Promise<void> {
  await inst.query(`ALTER ROLE ${escapeIdentifier(user)} PASSWORD ${escapeLiteral(verifier)}`);
}
