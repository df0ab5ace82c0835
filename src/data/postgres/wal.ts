/**
 * WAL segment arithmetic and the continuity of an archive, as pure functions of names. A restore
 * replays segments one after another and, at a missing one, simply stops: for `latest` that
 * looked like success while rows were missing. So before and after replay Berth checks the chain
 * it needs — from the base backup's first segment, across the timeline switches of earlier
 * promotes, to the newest segment the server reported archived — and names the first gap.
 */

/** `TTTTTTTTXXXXXXXXYYYYYYYY`: timeline, then the segment number in two 32-bit halves. */
export const SEGMENT = /^[0-9A-F]{24}$/;

export interface Segment {
  readonly timeline: number;
  /** Absolute segment number (LSN / segment size). */
  readonly no: number;
}

const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, "0");

/** Segments per 4 GB "xlogid" for a segment size (1 MB: 4096; 16 MB: 256). */
const perId = (segSize: number) => 0x1_0000_0000 / segSize;

export function parseSegment(name: string, segSize: number): Segment {
  return { timeline: Number.parseInt(name.slice(0, 8), 16), no: Number.parseInt(name.slice(8, 16), 16) * perId(segSize) + Number.parseInt(name.slice(16, 24), 16) };
}

export function segmentName(s: Segment, segSize: number): string {
  return `${hex8(s.timeline)}${hex8(Math.floor(s.no / perId(segSize)))}${hex8(s.no % perId(segSize))}`;
}

/** `16/B374D848` -> byte position. */
export function parseLsn(lsn: string): number {
  const [hi, lo] = lsn.split("/");
  return Number.parseInt(hi!, 16) * 0x1_0000_0000 + Number.parseInt(lo!, 16);
}

/** The segment holding byte `lsn` (an LSN exactly on a boundary starts the next segment). */
export function segmentOf(lsn: number, segSize: number): number {
  return Math.floor(lsn / segSize);
}

/** A timeline history file (`00000003.history`): each line `parentTLI<TAB>switchpoint LSN<TAB>reason`. */
export function parseHistory(text: string): { timeline: number; switchpoint: number }[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const [tli, lsn] = l.split(/\s+/);
      return { timeline: Number(tli), switchpoint: parseLsn(lsn!) };
    });
}

/** One stretch of the chain: segments of `timeline` found in one archive directory. */
export interface ChainHop {
  readonly timeline: number;
  /** Names of archived segments (any timeline; the others are ignored). */
  readonly segments: readonly string[];
  /** Where the next hop's timeline branched off this one (its first segment number); absent for the last hop. */
  readonly branchNo?: number;
}

export interface ChainCheck {
  /** The first segment the chain needs and the archive lacks. */
  readonly missing: string | undefined;
  /** The last segment of the chain, as checked. */
  readonly last: string | undefined;
  /** How many segments the chain holds. */
  readonly count: number;
}

/**
 * Walks the chain from `start` (a base backup's first segment) through `hops` (oldest timeline
 * first) up to `endNo` on the last hop's timeline (the newest segment that must be there), and
 * reports the first missing segment. `endNo` undefined: up to the newest one present.
 */
export function checkChain(start: string, hops: readonly ChainHop[], segSize: number, endNo?: number): ChainCheck {
  let no = parseSegment(start, segSize).no;
  let last: string | undefined;
  let count = 0;
  for (const [i, hop] of hops.entries()) {
    const have = new Set(hop.segments.filter((s) => SEGMENT.test(s)).map((s) => parseSegment(s, segSize)).filter((s) => s.timeline === hop.timeline).map((s) => s.no));
    const isLast = i === hops.length - 1;
    const until = isLast ? (endNo ?? Math.max(no - 1, ...have)) : hop.branchNo! - 1;
    for (; no <= until; no++) {
      const name = segmentName({ timeline: hop.timeline, no }, segSize);
      if (!have.has(no)) return { missing: name, last, count };
      last = name;
      count++;
    }
    if (!isLast) no = hop.branchNo!;
  }
  return { missing: undefined, last, count };
}
