/** Importers are lenient: whatever the input, they return a result (text + warnings), never throw. */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { stringify } from "yaml";
import { type ImportKind, importText } from "./index.ts";

const RUNS = Number(process.env.BERTH_FUZZ_RUNS ?? 150);
const KINDS: ImportKind[] = ["render", "railway", "procfile", "app.json", "compose"];
const FILES: Record<ImportKind, string> = { render: "render.yaml", railway: "railway.json", procfile: "Procfile", "app.json": "app.json", compose: "docker-compose.yml" };
const KEYS = ["services", "databases", "envVarGroups", "envVars", "type", "name", "key", "value", "fromDatabase", "fromService", "fromGroup", "property", "envVarKey", "build", "deploy", "environments", "formation", "addons", "env", "image", "ports", "healthcheck", "test", "depends_on", "volumes", "scaling", "disk", "routes", "previews", "projects", "schedule", "startCommand", "numReplicas", "restartPolicyType"];
const leaf = fc.oneof(fc.constantFrom("web", "worker", "cron", "redis", "postgres:15", "/health", "3000:3000", "x"), fc.integer({ min: -2, max: 5 }), fc.boolean(), fc.constant(null), fc.string({ maxLength: 6 }));
const tree = fc.letrec((tie) => ({ node: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("node"), { maxLength: 3 }), fc.dictionary(fc.constantFrom(...KEYS), tie("node"), { maxKeys: 4 })) })).node;

test(`fuzz: importers never throw on structured junk (${RUNS} runs per kind)`, () => {
  for (const kind of KINDS) {
    fc.assert(
      fc.property(tree, (doc) => {
        const text = kind === "railway" || kind === "app.json" ? JSON.stringify(doc) : kind === "procfile" ? String(typeof doc === "string" ? doc : stringify(doc)) : stringify(doc);
        const r = importText(kind, text, { file: FILES[kind] });
        assert.equal(typeof r.yaml, "string");
        assert.ok(r.warnings.every((w) => w.line >= 1 && w.column >= 1));
        if (!r.validation.ok) assert.deepEqual(r.validation.errors.filter((e) => e.code === "BERTH_BLUEPRINT_YAML" || e.code === "BERTH_INTERNAL"), [], "the emitted YAML must parse");
        assert.ok(r.warnings.every((w) => w.code !== "BERTH_BLUEPRINT_IMPORT_APPROXIMATE" || !/importer failed/.test(w.message)), "an importer threw");
      }),
      { numRuns: RUNS },
    );
  }
});

test(`fuzz: importers never throw on arbitrary text (${RUNS} runs per kind)`, () => {
  for (const kind of KINDS) {
    fc.assert(
      fc.property(fc.string({ maxLength: 120, unit: "grapheme-ascii" }), (text) => {
        const r = importText(kind, text, { file: kind === "railway" ? "railway.toml" : FILES[kind] });
        assert.ok(r.warnings.every((w) => !/importer failed/.test(w.message)), "an importer threw");
      }),
      { numRuns: RUNS },
    );
  }
});
