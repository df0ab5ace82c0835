/**
 * Property-based fuzzing of the parser with a fixed budget of runs: whatever the input, no
 * exception escapes, and every error is located (line, column, path) and has a hint.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { stringify } from "yaml";
import { type Diagnostic, parseBlueprint } from "./index.ts";

const RUNS = Number(process.env.BERTH_FUZZ_RUNS ?? 300);
const examplesDir = fileURLToPath(new URL("../../examples/", import.meta.url));
const examples = readdirSync(examplesDir)
  .filter((d) => existsSync(join(examplesDir, d, "berth.yaml")))
  .map((d) => readFileSync(join(examplesDir, d, "berth.yaml"), "utf8"));

function checkLocated(text: string): void {
  const r = parseBlueprint(text, { file: "fuzz.yaml" });
  const all: Diagnostic[] = r.ok ? r.warnings : [...r.errors, ...r.warnings];
  const lines = text.split("\n").length + 1;
  for (const d of all) {
    assert.notEqual(d.code, "BERTH_INTERNAL", `internal error: ${d.message}`);
    assert.ok(Number.isInteger(d.line) && d.line >= 1 && d.line <= lines, `line ${d.line} of ${lines}`);
    assert.ok(Number.isInteger(d.column) && d.column >= 1, `column ${d.column}`);
    assert.equal(d.file, "fuzz.yaml");
    assert.ok(Array.isArray(d.path));
    assert.ok(d.message.length > 0 && d.hint.length > 0, `${d.code} without message or hint`);
  }
}

const KEYS = ["version", "project", "services", "databases", "keyValues", "envGroups", "environments", "previews", "type", "start", "build", "env", "health", "replicas", "scaling", "singleton", "schedule", "command", "disks", "domains", "port", "restart", "fromDatabase", "fromService", "generate", "secret", "postgres", "redis", "timeout", "mountPath", "name", "min", "max", "cpu", "api", "db", "web", "worker"];
// biome-ignore lint/suspicious/noTemplateCurlyInString: blueprint interpolation syntax, not a JS template
const scalar = fc.oneof(fc.constantFrom("web", "worker", "cron", "static", "30s", "256mb", "70%", "@hourly", "${api.host}", "${A}", "db.connectionString", "/health", "1", "", "x"), fc.integer({ min: -5, max: 10 }), fc.boolean(), fc.constant(null), fc.string({ maxLength: 8 }));
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: "small", withCrossShrink: true }, scalar, fc.array(tie("node"), { maxLength: 3 }), fc.dictionary(fc.constantFrom(...KEYS), tie("node"), { maxKeys: 5 })),
})).node;

test(`fuzz: random documents over the blueprint vocabulary (${RUNS} runs)`, () => {
  fc.assert(fc.property(fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 6 }), (doc) => checkLocated(stringify({ version: 1, project: "p", ...doc }))), { numRuns: RUNS });
});

test(`fuzz: mutated example blueprints (${RUNS} runs)`, () => {
  const mutation = fc.record({ example: fc.nat(examples.length - 1), at: fc.nat(), cut: fc.nat({ max: 12 }), insert: fc.string({ maxLength: 6 }) });
  fc.assert(
    fc.property(mutation, ({ example, at, cut, insert }) => {
      const text = examples[example]!;
      const i = at % text.length;
      checkLocated(text.slice(0, i) + insert + text.slice(i + cut));
    }),
    { numRuns: RUNS },
  );
});

test(`fuzz: arbitrary text (${RUNS} runs)`, () => {
  fc.assert(fc.property(fc.string({ maxLength: 200, unit: "grapheme-ascii" }), checkLocated), { numRuns: RUNS });
});
