import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { load } from "js-yaml";
import { parse, stringify } from "yaml";
import { parseLocated, parseYamlSource } from "./source.ts";

const RUNS = Number(process.env.BERTH_FUZZ_RUNS ?? 300);

test("locate finds keys and values, and falls back to the nearest ancestor", () => {
  const src = parseYamlSource("a:\n  b: 1\n  list:\n    - x\n    - { c: 2 }\n");
  assert.deepEqual(src.locate(["a", "b"], true), { line: 2, column: 3 });
  assert.deepEqual(src.locate(["a", "b"]), { line: 2, column: 6 });
  assert.deepEqual(src.locate(["a", "list", 1, "c"]), { line: 5, column: 12 });
  assert.deepEqual(src.locate(["a", "missing", "deeper"]), { line: 2, column: 3 });
});

test("aliases go through the located parser and its alias limit", () => {
  const src = parseYamlSource("a: &x [1, 2]\nb: *x\n");
  assert.deepEqual(src.value, { a: [1, 2], b: [1, 2] });
  const bomb = `a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n`;
  assert.ok(parseYamlSource(bomb).errors.length > 0);
});

test(`differential: the fast and the located parser read the same data (${RUNS} runs)`, () => {
  const leaf = fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), fc.constantFrom("yes", "no", "on", "0x1F", "0o17", "1e3", "~", "null", "True", "2024-01-01", "12:30", "-", "!x", "&a", "*b", "#c", "'q'", "a: b"));
  const tree = fc.letrec((tie) => ({ node: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("node"), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 6 }), tie("node"), { maxKeys: 4 })) })).node;
  fc.assert(
    fc.property(tree, fc.boolean(), (doc, flow) => {
      const text = stringify(doc, flow ? { collectionStyle: "flow" } : {});
      assert.deepEqual(load(text), parse(text));
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 80, unit: "grapheme-ascii" }), (text) => {
      const located = parseLocated(text);
      let fast: unknown;
      try {
        fast = load(text, { maxAliases: 0 });
      } catch {
        return; // the located parser is authoritative for anything the fast one refuses
      }
      // The one known difference: an empty (null) key reads as "null" in js-yaml and "" in yaml.
      const same = (v: unknown) => JSON.stringify(v)?.replaceAll('"null":', '"":');
      assert.ok(located.errors.length === 0, `js-yaml accepted what yaml refuses: ${JSON.stringify(text)}`);
      assert.equal(same(fast), same(located.value), JSON.stringify(text));
    }),
    { numRuns: RUNS * 3 },
  );
});
