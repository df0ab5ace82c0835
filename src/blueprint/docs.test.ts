import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { renderBlueprintDocs } from "./docs.ts";
import { blueprintJsonSchema } from "./json-schema.ts";

const docsDir = new URL("../../docs/", import.meta.url);

test("docs/blueprint.md and docs/blueprint.schema.json match what the schema generates", () => {
  const md = readFileSync(fileURLToPath(new URL("blueprint.md", docsDir)), "utf8");
  assert.equal(md, renderBlueprintDocs(), "docs/blueprint.md is stale: run node scripts/gen-blueprint-docs.ts");
  const json = readFileSync(fileURLToPath(new URL("blueprint.schema.json", docsDir)), "utf8");
  assert.equal(json, `${JSON.stringify(blueprintJsonSchema(), null, 2)}\n`, "docs/blueprint.schema.json is stale: run node scripts/gen-blueprint-docs.ts");
});

test("every field in the JSON Schema has a description", () => {
  const missing: string[] = [];
  const walk = (s: Record<string, unknown>, path: string): void => {
    const props = s.properties as Record<string, Record<string, unknown>> | undefined;
    for (const [name, p] of Object.entries(props ?? {})) {
      if (typeof p.description !== "string" || p.description.length < 3) missing.push(`${path}.${name}`);
      walk(p, `${path}.${name}`);
    }
    for (const key of ["anyOf", "oneOf"] as const) for (const alt of (s[key] as Record<string, unknown>[] | undefined) ?? []) walk(alt, path);
    if (s.items && typeof s.items === "object") walk(s.items as Record<string, unknown>, `${path}[]`);
    if (s.additionalProperties && typeof s.additionalProperties === "object") walk(s.additionalProperties as Record<string, unknown>, `${path}.*`);
  };
  walk(blueprintJsonSchema(), "");
  assert.deepEqual([...new Set(missing)], []);
});
