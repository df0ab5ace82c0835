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

const DASHBOARD = join(ROOT, "dashboard");
/** What the dashboard may import from npm: its UI and chart libraries (docs/design/dashboard.md). */
const DASHBOARD_PACKAGES = /^(preact|preact\/hooks|preact\/jsx-runtime|uplot|uplot\/dist\/uPlot\.min\.css)$/;
/** The one dashboard file that talks to the daemon, over its public HTTP API only. */
const DASHBOARD_API = "dashboard/src/api.ts";

/**
 * The dashboard (issue 21) is a client of the public HTTP API: it imports nothing outside
 * dashboard/ (no src/ module, no server library), only its allow-listed npm packages, and every
 * request it makes goes through dashboard/src/api.ts, which knows only `/v1/...` paths.
 */
export function dashboardViolations(): string[] {
  const out: string[] = [];
  for (const file of files(join(DASHBOARD, "src"))) {
    const rel = relative(ROOT, file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]!;
      if (spec.startsWith(".")) {
        const target = relative(DASHBOARD, resolve(dirname(file), spec));
        if (target.startsWith("..")) out.push(`${rel}: imports ${spec}: the dashboard imports nothing outside dashboard/ (it talks to Berth through the HTTP API)`);
      } else if (!DASHBOARD_PACKAGES.test(spec)) {
        out.push(`${rel}: imports ${spec}: not one of the dashboard's packages (preact, uplot; docs/design/dashboard.md)`);
      }
    }
    for (const m of text.matchAll(/^import\s+["']([^"']+)["']/gm)) {
      const spec = m[1]!;
      if (!spec.startsWith(".") && !DASHBOARD_PACKAGES.test(spec)) out.push(`${rel}: imports ${spec}: not one of the dashboard's packages`);
    }
    if (rel !== DASHBOARD_API && /\bfetch\(|\bEventSource\(|XMLHttpRequest|WebSocket\(/.test(text)) {
      out.push(`${rel}: makes its own request: every request goes through ${DASHBOARD_API} (the public /v1 API)`);
    }
  }
  const api = readFileSync(join(ROOT, DASHBOARD_API), "utf8");
  for (const m of api.matchAll(/(?:fetch|EventSource)\(\s*[`"']([^`"'$]*)/g)) {
    if (m[1] && !m[1].startsWith("/v1/")) out.push(`${DASHBOARD_API}: requests ${m[1]}: only the public API under /v1/`);
  }
  return out;
}

if (import.meta.main) {
  const v = [...violations(), ...dashboardViolations()];
  if (v.length > 0) {
    process.stderr.write(`dependency direction: ${v.length} violation(s)\n${v.map((x) => `  ${x}`).join("\n")}\n`);
    process.exit(1);
  }
  process.stdout.write("dependency direction: ok\n");
}
