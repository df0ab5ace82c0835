/**
 * Dependency-direction check (docs/design/layers.md): a file under src/ may import its own
 * folder and lower layers only; engine implementations only from server.ts, tests and the
 * contract suite; nothing crosses into or out of dashboard/. Exits non-zero with every violation.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");
const SRC = join(ROOT, "src");

const LAYERS: Record<string, number> = {
  core: 0,
  store: 1,
  blueprint: 1,
  secrets: 1,
  sandbox: 1,
  "engine/engine.ts": 1,
  engine: 2,
  build: 2,
  router: 2,
  data: 2,
  cron: 2,
  observe: 2,
  deploy: 3,
  reconcile: 4,
  api: 5,
  "server.ts": 6,
  // The CLI binary is a process boundary: it talks HTTP, and its `server` command runs server.ts.
  cli: 7,
};
const ENGINE_IMPLS = ["engine/local/", "engine/memory/", "engine/swarm/"];

/** The unit a src-relative path belongs to: `engine/engine.ts`, `engine` (impls), a folder, or `server.ts`. */
export function unitOf(rel: string): string {
  if (rel === "engine/engine.ts") return rel;
  if (rel === "server.ts") return rel;
  return rel.split("/")[0]!;
}

function* files(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== "node_modules" && e.name !== "testdata") yield* files(full);
    } else if (/\.(ts|tsx)$/.test(e.name)) yield full;
  }
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

export function violations(): string[] {
  const out: string[] = [];
  for (const file of files(SRC)) {
    const rel = relative(SRC, file);
    const isTest = /\.test\.tsx?$/.test(rel) || rel.includes("/contract/") || rel.includes("test-helpers");
    const from = unitOf(rel);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]!;
      if (spec.includes("dashboard/")) out.push(`${rel}: imports ${spec}: the dashboard is reached only through the HTTP API`);
      if (!spec.startsWith(".")) continue;
      const target = relative(SRC, resolve(dirname(file), spec));
      if (target.startsWith("..")) continue;
      const to = unitOf(target);
      if (to === from) continue;
      if (ENGINE_IMPLS.some((p) => target.startsWith(p)) && !rel.startsWith("engine/") && rel !== "server.ts" && !isTest) {
        out.push(`${rel}: imports ${target}: engine implementations are reachable only through engine/engine.ts (wire them in server.ts)`);
        continue;
      }
      const lf = LAYERS[from];
      const lt = LAYERS[to];
      if (lf === undefined || lt === undefined) {
        out.push(`${rel}: imports ${target}: '${lf === undefined ? from : to}' is not in the layer table (docs/design/layers.md)`);
        continue;
      }
      if (isTest) continue; // tests may wire real neighbours together
      if (lt > lf) out.push(`${rel}: imports ${target}: layer ${lf} (${from}) may not depend on layer ${lt} (${to})`);
      else if (lt === lf && from !== to && from !== "engine/engine.ts" && to !== "engine/engine.ts") {
        out.push(`${rel}: imports ${target}: ${from} and ${to} are both layer ${lf}; talk through an interface in a lower layer`);
      }
    }
  }
  return out;
}

if (import.meta.main) {
  const v = violations();
  if (v.length > 0) {
    process.stderr.write(`dependency direction: ${v.length} violation(s)\n${v.map((x) => `  ${x}`).join("\n")}\n`);
    process.exit(1);
  }
  process.stdout.write("dependency direction: ok\n");
}
