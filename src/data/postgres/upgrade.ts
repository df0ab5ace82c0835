/**
 * `berth db upgrade <db> --to <major>`: the environment's server moves to a newer PostgreSQL
 * major by copying into a NEW server — never in place, never as a side effect of a blueprint
 * edit. The old server's databases turn read-only (sessions of the services are ended; they
 * reconnect and read), every database is copied logically (roles with their password verifiers,
 * then `pg_dump` of the old server applied with `psql` to the new one: the distribution's client
 * tools of a major at least the old one's, which speak to newer servers), every table's row count
 * and checksum compared, and the new server promoted like a restore: the old one keeps serving
 * reads to instances still on it, then stops with its directory and backups kept. A failure
 * before the promote leaves the old server as it was (writable again) and removes the new one.
 * Called by the provider under the server's lock. Decisions: docs/design/postgres-majors.md.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { escapeIdentifier } from "pg";
import { BerthError, isBerthError } from "../../core/errors.ts";
import type { EventSink } from "../../core/events.ts";
import { newId } from "../../core/ids.ts";
import { mkdirOwned } from "../files.ts";
import { type RunAs, runProgram } from "../proc.ts";
import { type BackupContext, takeBaseBackup } from "./backup.ts";
import { findBinaries, type PgBinaries } from "./binaries.ts";
import { distributionMajors, type PgDistribution } from "./distribution.ts";
import { PgInstance } from "./instance.ts";
import { compareTables, tableChecksums } from "./points.ts";
import { ensureDatabase, setRoleVerifier } from "./roles.ts";
import type { PgServer } from "./server.ts";

export interface UpgradeContext {
  readonly server: PgServer;
  readonly distribution: PgDistribution;
  readonly rootDir: string;
  readonly events: EventSink;
  readonly now: () => number;
  readonly runAs: RunAs | undefined;
  readonly pgRoot?: string | undefined;
  readonly backupContext: (name: string) => BackupContext;
  /** Progress for the recorded operation (`copy db`, `verify`, ...). */
  readonly progress?: (step: string, detail?: string) => void;
}

export interface UpgradeResult {
  readonly from: number;
  readonly to: number;
  /** The old server (kept: it retires once unused, its directory and backups stay). */
  readonly previous: string;
  readonly instance: string;
  readonly port: number;
  readonly databases: readonly string[];
  readonly tables: number;
  readonly ms: number;
}

/** The client tools that copy a `from` server: the distribution's, of a major at least `from` (pure choice). */
export function copyToolsMajor(from: number, installed: readonly number[]): number | undefined {
  return installed.filter((m) => m >= from).sort((a, b) => a - b)[0];
}

export async function upgradeOp(c: UpgradeContext, name: string, to: number): Promise<UpgradeResult> {
  const t0 = Date.now();
  const old = c.server.live;
  if (!old?.running) throw new BerthError("BERTH_DATA_NOT_RUNNING", { kind: "postgres", name });
  const from = old.bins.major;
  if (to === from) throw new BerthError("BERTH_CONFLICT", { kind: `database already on PostgreSQL ${to}`, name });
  if (to < from) throw new BerthError("BERTH_DATA_MAJOR_UNAVAILABLE", { name, major: to, detail: `it is older than the ${from} the server runs; Berth upgrades only to a newer major` });
  const toolsMajor = copyToolsMajor(from, distributionMajors(c.pgRoot));
  if (toolsMajor === undefined) {
    throw new BerthError("BERTH_DATA_TOOL_UNAVAILABLE", {
      tool: `pg_dump ${from} or newer`,
      name,
      major: from,
      from: old.bins.from ?? old.bins.binDir,
      suggestion: `The copy reads the old server with the distribution's pg_dump of PostgreSQL ${from} or newer (installed: ${distributionMajors(c.pgRoot).join(", ") || "none"}); install postgresql-client-${from}.`,
    });
  }
  const tools = findBinaries(toolsMajor, c.pgRoot);
  c.progress?.("install", `PostgreSQL ${to}`);
  const bins: PgBinaries = await c.distribution.provide(to, name);
  const id = newId("pg");
  const inst = new PgInstance({ name: c.server.scope().environment, dir: join(c.rootDir, "instances", id), bins, runAs: c.runAs });
  const store = c.server.store(id);
  const work = join(c.rootDir, "scratch", `upgrade-${id}`);
  const databases = c.server.state.databases;
  const readOnly = async (on: boolean) => {
    for (const d of databases) await old.query(`ALTER DATABASE ${escapeIdentifier(d.database)} ${on ? "SET default_transaction_read_only = on" : "RESET default_transaction_read_only"}`);
  };
  let promoted = false;
  try {
    c.progress?.("create", `a PostgreSQL ${to} server`);
    await inst.init();
    store.prepare(c.runAs);
    await inst.start(c.server.startSettings(store));
    // From here the old server takes no writes: what the copy reads is all there is. The marker
    // lets a restarted daemon undo this if it dies before the end (undoUpgrade).
    c.server.state.upgrading = { instance: id, databases: databases.map((d) => d.database) };
    c.server.save();
    await readOnly(true);
    await old.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client backend' AND usename <> 'postgres' AND pid <> pg_backend_pid()");
    mkdirOwned(work, 0o700, c.runAs);
    let tables = 0;
    for (const d of databases) {
      c.progress?.("copy", d.database);
      const [role] = await old.query<{ v: string | null }>("SELECT rolpassword AS v FROM pg_authid WHERE rolname = $1", [d.user]);
      await ensureDatabase(inst, d.database, d.user, `upgrade-${id}`);
      if (role?.v) await setRoleVerifier(inst, d.user, role.v);
      const file = join(work, `${d.database}.sql`);
      const opts = { runAs: c.runAs, name, timeoutMs: 6 * 3_600_000 };
      await runProgram(join(tools.binDir, "pg_dump"), ["-h", old.socketDir, "-p", String(old.port), "-U", "postgres", "--no-password", "-Fp", "-f", file, d.database], opts);
      await runProgram(join(tools.binDir, "psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-h", inst.socketDir, "-p", String(inst.port), "-U", "postgres", "--no-password", "-d", d.database, "-f", file], opts);
      c.progress?.("verify", d.database);
      const sums = async (i: PgInstance) => {
        const cl = await i.client(d.database);
        try {
          return await tableChecksums(cl, d.database, false);
        } finally {
          await cl.end().catch(() => {});
        }
      };
      const want = await sums(old);
      const diffs = compareTables(want, await sums(inst));
      if (diffs.length > 0) throw new Error(`the copy of ${d.database} differs: ${diffs.slice(0, 5).join("; ")}`);
      tables += Object.keys(want).length;
    }
    c.progress?.("promote", `PostgreSQL ${to} becomes the server`);
    const previous = c.server.state.live!;
    store.saveMeta({ instance: id, liveFrom: new Date(c.now()).toISOString(), timeline: 1, ...((await inst.systemId()) ? { systemId: (await inst.systemId())! } : {}) });
    c.server.state.systemId = await inst.systemId();
    c.server.state.upgrading = undefined;
    c.server.promote(inst, name);
    c.server.useMajor(bins);
    promoted = true;
    await c.server.applyAccess(inst);
    c.events.emit({ type: "data:warning", scope: c.server.scope(name), data: { resource: name, message: `upgraded from PostgreSQL ${from} to ${to}: server ${id} is live; ${previous} serves reads until services moved, then stops (kept on disk)` } });
    if (databases.some((d) => d.backups !== false)) await takeBaseBackup(inst, store, c.backupContext(name)).catch(() => {}); // loud on its own (backup:failed)
    return { from, to, previous, instance: id, port: inst.port, databases: databases.map((d) => d.database), tables, ms: Date.now() - t0 };
  } catch (e) {
    if (!promoted) {
      await readOnly(false).catch(() => {});
      await inst.destroy().catch(() => {});
      rmSync(store.root, { recursive: true, force: true });
      c.server.state.upgrading = undefined;
      c.server.save();
    }
    throw isBerthError(e) ? e : new BerthError("BERTH_DATA_UPGRADE_FAILED", { name, from, to, detail: (e as Error).message }, { cause: e });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * After a daemon died in the middle of an upgrade: the live (old) server's databases become
 * writable again and the half-filled new server is removed. Idempotent; returns whether there
 * was anything to undo.
 */
export async function undoUpgrade(server: PgServer, live: PgInstance, resource: string, events: EventSink): Promise<boolean> {
  const u = server.state.upgrading;
  if (!u) return false;
  for (const db of u.databases) await live.query(`ALTER DATABASE ${escapeIdentifier(db)} RESET default_transaction_read_only`).catch(() => {});
  if (u.instance !== server.state.live) {
    await server.instance(u.instance).destroy().catch(() => {});
    rmSync(server.store(u.instance).root, { recursive: true, force: true });
  }
  server.state.upgrading = undefined;
  server.save();
  events.emit({ type: "data:warning", scope: server.scope(resource), data: { resource, message: `an interrupted upgrade was undone: the server is writable again and the half-made server ${u.instance} was removed; run \`berth db upgrade\` again` } });
  return true;
}
