import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBlueprint } from "./parse.ts";

const bp = (dbs: string) => `version: 1\nproject: demo\nservices:\n  api: { type: worker, start: node w.js }\ndatabases:\n${dbs}`;

test("a PostgreSQL major Berth cannot provide is a located error at validate time", () => {
  const r = parseBlueprint(bp("  db:\n    postgres: 13\n"), { file: "berth.yaml" });
  assert.equal(r.ok, false);
  const e = (r as { errors: { message: string; line: number; column: number }[] }).errors[0]!;
  assert.match(e.message, /databases\.db\.postgres is invalid: PostgreSQL 13 cannot be provided: Berth provides PostgreSQL 14, 15, 16, 17, 18/);
  assert.deepEqual([e.line, e.column], [7, 15]);
});

test("no major written means 16 (Render's default); 14 to 18 validate", () => {
  const r = parseBlueprint(bp("  db: {}\n"), { file: "berth.yaml" });
  assert.ok(r.ok);
  assert.equal(r.blueprint.databases[0]!.version, 16);
  for (const m of [14, 15, 16, 17, 18]) assert.ok(parseBlueprint(bp(`  db: { postgres: ${m} }\n`), { file: "berth.yaml" }).ok, String(m));
});

test("databases of one environment share its server: different majors are an error", () => {
  const r = parseBlueprint(bp("  a: { postgres: 16 }\n  b: { postgres: 15 }\n"), { file: "berth.yaml" });
  assert.equal(r.ok, false);
  assert.match((r as { errors: { message: string }[] }).errors[0]!.message, /share its PostgreSQL server, and 'a' asks for 16 where 'b' asks for 15/);
});
