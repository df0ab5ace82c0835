/**
 * Regenerates docs/blueprint.md and docs/blueprint.schema.json from the blueprint schema.
 * `node scripts/gen-blueprint-docs.ts` writes them; `--check` exits 1 when they are stale.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderBlueprintDocs } from "../src/blueprint/docs.ts";
import { blueprintJsonSchema } from "../src/blueprint/json-schema.ts";

const files = {
  [fileURLToPath(new URL("../docs/blueprint.md", import.meta.url))]: renderBlueprintDocs(),
  [fileURLToPath(new URL("../docs/blueprint.schema.json", import.meta.url))]: `${JSON.stringify(blueprintJsonSchema(), null, 2)}\n`,
};

const check = process.argv.includes("--check");
let stale = 0;
for (const [path, text] of Object.entries(files)) {
  let current = "";
  try {
    current = readFileSync(path, "utf8");
  } catch {}
  if (current === text) continue;
  stale++;
  if (check) console.error(`${path} is out of date: run node scripts/gen-blueprint-docs.ts`);
  else writeFileSync(path, text);
}
if (check && stale > 0) process.exit(1);
