import { readFileSync } from "node:fs";
import { parseBlueprint, resolveEnvironment } from "../index.ts";
const f = process.argv[2]!;
const r = parseBlueprint(readFileSync(f, "utf8"), { file: f });
if (r.ok) { const p = resolveEnvironment(r.blueprint, process.argv[3] ?? "production"); console.log(JSON.stringify({ ...p, source: undefined }, null, 1).slice(0, +(process.argv[4] ?? 3000))); console.log(r.warnings); }
else console.log(r.errors, r.warnings);
