import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkChain, parseHistory, parseLsn, parseSegment, segmentName, segmentOf } from "./wal.ts";

const MB = 1024 * 1024;
const seg = (tli: number, no: number) => segmentName({ timeline: tli, no }, MB);

describe("WAL segment arithmetic", () => {
  test("names and numbers round-trip for 1 MB and 16 MB segments", () => {
    assert.equal(seg(1, 2), "000000010000000000000002");
    assert.equal(seg(1, 4096), "000000010000000100000000", "4096 one-MB segments per 4 GB");
    assert.deepEqual(parseSegment("00000002000000010000000A", MB), { timeline: 2, no: 4106 });
    assert.equal(segmentName({ timeline: 1, no: 256 }, 16 * MB), "000000010000000100000000");
  });

  test("LSNs map to the segment holding them", () => {
    assert.equal(parseLsn("1/2"), 0x1_0000_0002);
    assert.equal(segmentOf(parseLsn("0/3000028"), MB), 0x30);
    assert.deepEqual(parseHistory("1\t0/5000A8\tbefore 2026-01-02 06:00:00+00\n"), [{ timeline: 1, switchpoint: 0x5000a8 }]);
  });
});

describe("checkChain", () => {
  const range = (tli: number, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => seg(tli, from + i));

  test("a complete chain on one timeline", () => {
    assert.deepEqual(checkChain(seg(1, 2), [{ timeline: 1, segments: range(1, 1, 9) }], MB), { missing: undefined, last: seg(1, 9), count: 8 });
  });

  test("the first missing segment is named; a deleted newest segment is a gap when the archive said it was stored", () => {
    const segs = range(1, 2, 9).filter((s) => s !== seg(1, 5));
    assert.equal(checkChain(seg(1, 2), [{ timeline: 1, segments: segs }], MB).missing, seg(1, 5));
    assert.equal(checkChain(seg(1, 2), [{ timeline: 1, segments: range(1, 2, 8) }], MB, 9).missing, seg(1, 9));
  });

  test("across a promote: the old timeline up to the branch segment, then the new one", () => {
    const hops = [
      { timeline: 1, segments: range(1, 2, 12), branchNo: 7 },
      { timeline: 2, segments: range(2, 7, 10) },
    ];
    assert.deepEqual(checkChain(seg(1, 2), hops, MB), { missing: undefined, last: seg(2, 10), count: 9 });
    assert.equal(checkChain(seg(1, 2), [{ ...hops[0]!, segments: range(1, 2, 5) }, hops[1]!], MB).missing, seg(1, 6));
    assert.equal(checkChain(seg(1, 2), [hops[0]!, { timeline: 2, segments: range(2, 8, 10) }], MB).missing, seg(2, 7));
  });
});
