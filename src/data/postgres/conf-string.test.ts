import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { pgConfString, renderServerConf } from "./config.ts";

/** A postgresql.conf line `name = value`, read the way PostgreSQL's lexer reads a quoted value. */
function readQuoted(line: string): string | undefined {
  const m = /^\w+ = '((?:[^'\n]|'')*)'$/.exec(line);
  return m ? m[1]!.replace(/''/g, "'") : undefined;
}

test("issue 17: a configuration string is one line that reads back as itself, or it is refused", () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom("a", "'", "\\", "\n", "\r", "#", " ", "=", "é", "\u0000", "%p") }), (v) => {
      let quoted: string;
      try {
        quoted = pgConfString(v);
      } catch {
        assert.match(v, /[\x00-\x1f]/);
        return;
      }
      assert.equal(readQuoted(`recovery_target_name = ${quoted}`), v);
    }),
    { numRuns: 500 },
  );
  assert.throws(() => renderServerConf({ port: 1, socketDir: "/run/pg", listenAll: false, recovery: { script: "/s", walDirs: ["/w"], stop: { kind: "point", name: "p'\nrestore_command = 'evil'" } } }), /control characters/);
});
