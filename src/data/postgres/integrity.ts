/**
 * Integrity checks for majors whose client programs are missing (the npm server builds carry no
 * pg_amcheck and no pg_waldump, and those of another major refuse a newer server's pages and WAL):
 *  - amcheck through SQL on the scratch server of a drill — the same checks pg_amcheck runs
 *    (`verify_heapam` on every table, `bt_index_check` with heapallindexed on every B-tree index),
 *    with the amcheck extension the server build ships;
 *  - WAL segments read by Berth: size, and the long page header that opens every segment (page
 *    address, segment size, the cluster's system identifier, the major's page magic). Record
 *    CRCs are checked only where a replay reads them (docs/design/postgres-majors.md).
 */
import { open, stat } from "node:fs/promises";
import { join } from "node:path";
import { BerthError } from "../../core/errors.ts";
import { runProgram } from "../proc.ts";
import type { PgInstance } from "./instance.ts";
import { segmentName } from "./wal.ts";

/** pg_amcheck when this major has it, else amcheck's functions over SQL; throws on any corruption. */
export async function checkIntegrity(inst: PgInstance, resource: string): Promise<string> {
  if (inst.has("pg_amcheck")) {
    await runProgram(inst.bin("pg_amcheck"), ["--all", "--install-missing", "--heapallindexed", "-h", inst.socketDir, "-p", String(inst.port), "-U", "postgres", "--no-password"], { runAs: inst.runAs, name: resource, timeoutMs: 60 * 60_000 });
    return "pg_amcheck clean";
  }
  const dbs = await inst.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname");
  const problems: string[] = [];
  let relations = 0;
  for (const { datname } of dbs) {
    const c = await inst.client(datname);
    try {
      await c.query("CREATE EXTENSION IF NOT EXISTS amcheck");
      const tables = await c.query<{ oid: number; name: string }>(
        "SELECT c.oid::int AS oid, format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm', 't') AND c.relpersistence = 'p' ORDER BY 1",
      );
      for (const t of tables.rows) {
        const bad = await c.query<{ blkno: string; msg: string }>("SELECT blkno::text, msg FROM verify_heapam($1::regclass, on_error_stop => false) LIMIT 3", [t.oid]);
        for (const r of bad.rows) problems.push(`${datname}.${t.name} block ${r.blkno}: ${r.msg}`);
        relations++;
      }
      const indexes = await c.query<{ oid: number; name: string }>(
        "SELECT c.oid::int AS oid, format('%I.%I', n.nspname, c.relname) AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'btree' AND i.indisvalid AND i.indisready AND c.relpersistence = 'p' ORDER BY 1",
      );
      for (const ix of indexes.rows) {
        try {
          await c.query("SELECT bt_index_check($1::regclass, true)", [ix.oid]);
        } catch (e) {
          problems.push(`${datname}.${ix.name}: ${(e as Error).message}`);
        }
        relations++;
      }
    } finally {
      await c.end().catch(() => {});
    }
  }
  if (problems.length > 0) throw new BerthError("BERTH_DATA_BACKUP_CORRUPT", { name: resource, backup: "(restored copy)", detail: `amcheck: ${problems.slice(0, 5).join("; ")}`, storeDir: inst.dir });
  return `amcheck clean (${relations} relations)`;
}

/** What a segment's first page says about it (XLogLongPageHeaderData, the same layout in 9.x to 18). */
export interface SegmentHeader {
  readonly magic: number;
  readonly long: boolean;
  readonly pageAddr: number;
  readonly sysid: string;
  readonly segSize: number;
}

/** Parses the long page header that opens a WAL segment (pure). */
export function parseSegmentHeader(page: Buffer): SegmentHeader {
  return {
    magic: page.readUInt16LE(0),
    long: (page.readUInt16LE(2) & 0x0002) !== 0,
    pageAddr: Number(page.readBigUInt64LE(8)),
    sysid: page.readBigUInt64LE(24).toString(),
    segSize: page.readUInt32LE(32),
  };
}

/** Why a segment's header does not belong at `no` of this cluster, or undefined when it does (pure). */
export function headerProblem(h: SegmentHeader, no: number, segSize: number, sysid: string | undefined, magic: number | undefined): string | undefined {
  if (!h.long) return "its first page has no long header";
  if (h.pageAddr !== no * segSize) return `its first page is at ${h.pageAddr.toString(16).toUpperCase()}, not at ${(no * segSize).toString(16).toUpperCase()}`;
  if (h.segSize !== segSize) return `its header says segments of ${h.segSize} bytes, not ${segSize}`;
  if (sysid && h.sysid !== sysid) return `it belongs to cluster ${h.sysid}, not ${sysid}`;
  if (magic !== undefined && h.magic !== magic) return `its page magic ${h.magic.toString(16)} differs from the rest of the chain (${magic.toString(16)})`;
  return undefined;
}

/** Checks segments `from..to` of `timeline` in `walDir`; throws BERTH_DATA_WAL_GAP naming the first bad one. */
export async function checkSegmentHeaders(walDir: string, timeline: number, from: number, to: number, segSize: number, sysid: string | undefined, resource: string, seen: { magic?: number }): Promise<void> {
  const page = Buffer.alloc(40);
  for (let no = from; no <= to; no++) {
    const name = segmentName({ timeline, no }, segSize);
    const path = join(walDir, name);
    let problem: string | undefined;
    try {
      const size = (await stat(path)).size;
      if (size !== segSize) problem = `it holds ${size} bytes, not ${segSize}`;
      else {
        const f = await open(path, "r");
        try {
          await f.read(page, 0, 40, 0);
        } finally {
          await f.close();
        }
        const h = parseSegmentHeader(page);
        problem = headerProblem(h, no, segSize, sysid, seen.magic);
        seen.magic ??= h.magic;
      }
    } catch (e) {
      problem = `it cannot be read: ${(e as Error).message}`;
    }
    if (problem) throw new BerthError("BERTH_DATA_WAL_GAP", { name: resource, segment: name, detail: `${problem} (${walDir})` });
  }
}
