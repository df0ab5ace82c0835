/**
 * Every real-world file in ../shared/fixtures/real-world imports without an exception, and at
 * least 95 % of the render.yaml and railway files give a blueprint that validates.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { detectKind, importText } from "./index.ts";

const CORPUS = process.env.BERTH_FIXTURES ?? "/work/shared/fixtures/real-world";

test("real-world corpus: imports never throw; >= 95 % of render and railway files validate", { skip: !existsSync(CORPUS) && "corpus not present" }, () => {
  const counts: Record<string, { files: number; valid: number; warnings: number }> = {};
  const failures: string[] = [];
  for (const dir of readdirSync(CORPUS, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    for (const name of readdirSync(join(CORPUS, dir.name))) {
      const kind = detectKind(name);
      assert.ok(kind, `no importer for ${name}`);
      const text = readFileSync(join(CORPUS, dir.name, name), "utf8");
      const result = importText(kind, text, { file: name, project: "corpus" });
      assert.equal(typeof result.yaml, "string");
      counts[kind] ??= { files: 0, valid: 0, warnings: 0 };
      const c = counts[kind];
      c.files++;
      c.warnings += result.warnings.length;
      if (result.validation.ok) c.valid++;
      else failures.push(`${name}: ${result.validation.errors.map((e) => e.message).join("; ")}`);
    }
  }
  console.log("import counts by kind:", JSON.stringify(counts));
  for (const f of failures) console.log("  does not validate:", f);
  for (const kind of ["render", "railway"]) {
    const c = counts[kind]!;
    assert.ok(c.files > 0, `${kind}: no files`);
    assert.ok(c.valid / c.files >= 0.95, `${kind}: only ${c.valid}/${c.files} validate`);
  }
});
