/**
 * The WAL archive of one database as a chain across its stores: which segments a restore plan
 * needs (wal.ts does the arithmetic), whether they are all there, whether their records parse
 * (pg_waldump checks every CRC), and whether a finished recovery replayed as far as the archive
 * goes. Every gap is an error naming the segment: replay never stops silently short.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BerthError, isBerthError } from "../../core/errors.ts";
import { runProgram } from "../proc.ts";
import type { PgInstance } from "./instance.ts";
import { checkSegmentHeaders } from "./integrity.ts";
import type { RestorePlan } from "./lineage.ts";
import type { BackupStore } from "./store.ts";
import { type ChainHop, checkChain, parseHistory, parseLsn, parseSegment, SEGMENT, segmentName, segmentOf } from "./wal.ts";

/** How far the chain must reach: everything archived (`latest`), or what was archived by a time. */
export type ChainEnd = { readonly kind: "all"; readonly liveLast?: string | undefined } | { readonly kind: "before"; readonly atMs: number };

export interface Chain {
  readonly hops: readonly (ChainHop & { readonly store: BackupStore })[];
  readonly start: string;
  readonly segSize: number;
  /** The segment number the last hop must reach. */
  readonly endNo: number | undefined;
}

/** Where `child`'s timeline branched off its parent's: the segment its history file names. */
function branchNo(child: BackupStore, segSize: number): number | undefined {
  const meta = child.meta();
  const text = meta.timeline ? child.history(meta.timeline) : undefined;
  const last = text ? parseHistory(text).at(-1) : undefined;
  if (last) return segmentOf(last.switchpoint, segSize);
  if (meta.parent?.branchLsn) return segmentOf(parseLsn(meta.parent.branchLsn), segSize);
  const own = child.walSegments().map((s) => parseSegment(s, segSize)).filter((s) => s.timeline === meta.timeline);
  return own.length > 0 ? Math.min(...own.map((s) => s.no)) : undefined;
}

/** The chain a plan replays: from its backup's first segment through every store to the target's. */
export function chainOf(plan: RestorePlan, stores: ReadonlyMap<string, BackupStore>, end: ChainEnd): Chain {
  const line = [...plan.chain].reverse().map((id) => stores.get(id)!);
  const segSize = line[0]!.segmentSize();
  const start = plan.backup.startWal!;
  const hops = line.map((store, i) => {
    const timeline = i === 0 ? parseSegment(start, segSize).timeline : (store.meta().timeline ?? parseSegment(start, segSize).timeline);
    const next = line[i + 1];
    const b = next ? branchNo(next, segSize) : undefined;
    return { store, timeline, segments: store.walSegments(), ...(b !== undefined ? { branchNo: b } : {}) };
  });
  const last = hops.at(-1)!;
  const own = last.segments.filter((s) => SEGMENT.test(s) && parseSegment(s, segSize).timeline === last.timeline);
  let endNo: number | undefined;
  if (end.kind === "all") {
    // The newest segment known to have been archived: the script's marker or the live server's word.
    const known = [...own, last.store.lastArchived(), end.liveLast].filter((s): s is string => !!s && SEGMENT.test(s) && parseSegment(s, segSize).timeline === last.timeline);
    endNo = known.length > 0 ? Math.max(...known.map((s) => parseSegment(s, segSize).no)) : undefined;
  } else {
    const before = own.filter((s) => (last.store.archivedAt(s) ?? Number.POSITIVE_INFINITY) <= end.atMs);
    endNo = before.length > 0 ? Math.max(...before.map((s) => parseSegment(s, segSize).no)) : undefined;
  }
  return { hops, start, segSize, endNo };
}

/** Throws BERTH_DATA_WAL_GAP naming the first segment the chain needs and the archive lacks. */
export function requireChain(chain: Chain, resource: string, what: string): { first: string; last: string | undefined; count: number } {
  const c = checkChain(chain.start, chain.hops, chain.segSize, chain.endNo);
  if (c.missing) {
    const where = chain.hops.find((h) => parseSegment(c.missing!, chain.segSize).timeline === h.timeline)?.store.walDir ?? chain.hops[0]!.store.walDir;
    throw new BerthError("BERTH_DATA_WAL_GAP", { name: resource, segment: c.missing, detail: `${what} needs it (not in ${where}); the chain holds ${c.count} segment(s) from ${chain.start}${c.last ? ` to ${c.last}` : ""}` });
  }
  return { first: chain.start, last: c.last, count: c.count };
}

/**
 * Where a promoted recovery ended: the switchpoint in the newest timeline history file of the
 * new server's pg_wal (written at promotion).
 */
export function recoveryEnd(inst: PgInstance): number | undefined {
  const dir = join(inst.dataDir, "pg_wal");
  const newest = readdirSync(dir)
    .filter((f) => /^[0-9A-F]{8}\.history$/.test(f))
    .sort()
    .at(-1);
  return newest ? parseHistory(readFileSync(join(dir, newest), "utf8")).at(-1)?.switchpoint : undefined;
}

/** After a restore to `latest`: replay must have reached the newest archived segment. */
export function requireReplayedTo(chain: Chain, inst: PgInstance, resource: string): void {
  const end = recoveryEnd(inst);
  if (end === undefined || chain.endNo === undefined) return;
  const reached = segmentOf(end, chain.segSize);
  if (reached >= chain.endNo) return;
  // Which timeline the replay was on when it stopped: the hop whose range holds that segment.
  const hop = chain.hops.find((h) => h.branchNo === undefined || reached < h.branchNo) ?? chain.hops.at(-1)!;
  const segment = segmentName({ timeline: hop.timeline, no: reached }, chain.segSize);
  const newest = segmentName({ timeline: chain.hops.at(-1)!.timeline, no: chain.endNo }, chain.segSize);
  throw new BerthError("BERTH_DATA_WAL_GAP", { name: resource, segment, detail: `replay stopped in it although the archive goes on to ${newest}: the segment is damaged` });
}

/** pg_waldump over every hop: each record's CRC and each page header, not just the names. */
export async function parseChain(chain: Chain, template: PgInstance, resource: string, last: string | undefined): Promise<void> {
  if (!last) return;
  let no = parseSegment(chain.start, chain.segSize).no;
  const lastNo = parseSegment(last, chain.segSize).no;
  // Majors without pg_waldump (npm server builds): Berth reads each segment's header (integrity.ts).
  const headersOnly = !template.has("pg_waldump");
  const sysid = headersOnly ? await template.systemId() : undefined;
  const seen: { magic?: number } = {};
  for (const hop of chain.hops) {
    const until = hop.branchNo !== undefined ? Math.min(hop.branchNo - 1, lastNo) : lastNo;
    if (until < no) continue;
    if (headersOnly) {
      await checkSegmentHeaders(hop.store.walDir, hop.timeline, no, until, chain.segSize, sysid, resource, seen);
      if (hop.branchNo !== undefined) no = hop.branchNo;
      continue;
    }
    const first = segmentName({ timeline: hop.timeline, no }, chain.segSize);
    const end = segmentName({ timeline: hop.timeline, no: until }, chain.segSize);
    try {
      await runProgram(template.bin("pg_waldump"), ["--quiet", "--path", hop.store.walDir, "--timeline", String(hop.timeline), first, end], { runAs: template.runAs, name: resource, timeoutMs: 60 * 60_000 });
    } catch (e) {
      const text = isBerthError(e) ? String(e.params.detail ?? e.message) : (e as Error).message;
      // A record running past the last archived segment is not damage: its end is not archived yet.
      if (hop === chain.hops.at(-1) && /could not find file|invalid record length at [0-9A-F/]+: wanted \d+, got 0|missing contrecord/.test(text) && text.includes(end.slice(8))) continue;
      const at = /at ([0-9A-F]+\/[0-9A-F]+)/.exec(text)?.[1];
      const segment = at ? segmentName({ timeline: hop.timeline, no: segmentOf(parseLsn(at), chain.segSize) }, chain.segSize) : first;
      throw new BerthError("BERTH_DATA_WAL_GAP", { name: resource, segment, detail: `pg_waldump cannot read it: ${text.split("\n").slice(-2).join(" ")}` });
    }
    if (hop.branchNo !== undefined) no = hop.branchNo;
  }
}
