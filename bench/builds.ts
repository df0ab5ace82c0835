/**
 * Issue 14 benchmark: build times of the fixture apps (test/fixtures/apps/) on Berth against the
 * same install and build run by hand, in the same process, with the same Node / Python.
 *
 * - Berth cold: a fresh data dir (empty tool cache, npm/yarn/pnpm caches, install cache): what a
 *   new machine's first deploy pays, Node.js downloads for pinned versions included.
 * - Berth cold, tools cached: another fresh data dir whose tool cache already holds the Node,
 *   npm and package manager (empty package caches): the first deploy of an app on a machine that
 *   has built others with the same tools.
 * - by hand cold: the same commands (`npm ci`, `yarn install --frozen-lockfile`, `pip install
 *   -r ...`, then the build script) in a fresh copy with an empty package-manager cache, the
 *   toolchain already on the machine (Berth's, so the same versions).
 * - Berth warm: a code change only (lockfile unchanged), same data dir.
 * - by hand warm: a fresh copy (no node_modules / .venv) with the package-manager cache warm.
 *
 * Ratios are Berth / by hand. Python builds run with PIP_NO_INDEX (only Debian's packages).
 *
 *   node bench/builds.ts [--only express-node20,flask-pip]
 */
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { DEFAULT_BUILD_ENV_ALLOW, hostBuildEnv, hostNpmGlobalConfig } from "../src/build/build-env.ts";
import { type BuildSettings, DirBuilder } from "../src/build/dir-builder.ts";

const FIXTURES = fileURLToPath(new URL("../test/fixtures/apps/", import.meta.url));

/** What Berth builds (as the imported render.yaml says) and what a person would type instead. */
const APPS: Record<string, { settings: Partial<BuildSettings>; byHand: string }> = {
  "express-node20": { settings: { runtime: "node" }, byHand: "npm ci --no-audit --no-fund" },
  "nvmrc-22": { settings: { runtime: "node" }, byHand: "npm ci --no-audit --no-fund" },
  "vite-yarn1": { settings: { runtime: "static", buildCommand: "yarn install --frozen-lockfile && yarn build", publishDir: "./dist" }, byHand: "yarn install --frozen-lockfile && yarn build" },
  "vite-pnpm": { settings: { runtime: "static", publishDir: "dist" }, byHand: "pnpm install --frozen-lockfile && pnpm run build" },
  "next-npm": { settings: { runtime: "node", buildCommand: "npm ci && npm run build" }, byHand: "npm ci && npm run build" },
  "flask-pip": { settings: { runtime: "python", buildCommand: "pip install -r requirements.txt" }, byHand: "/usr/bin/python3 -m venv --system-site-packages .venv && .venv/bin/pip install -r requirements.txt" },
  // `pip install .` by hand re-resolves Debian's fastapi against its stale metadata and needs an
  // index; what installs offline is the project itself without dependencies.
  "fastapi-pyproject": { settings: { runtime: "python" }, byHand: "/usr/bin/python3 -m venv --system-site-packages .venv && .venv/bin/pip install --no-build-isolation --no-deps ." },
};

const { values } = parseArgs({ options: { only: { type: "string" } } });
const only = values.only ? values.only.split(",") : Object.keys(APPS);

const root = mkdtempSync(join(tmpdir(), "berth-bench-builds-"));
const dataDir = join(root, "berth");
const handDir = join(root, "hand");
const globalconfig = hostNpmGlobalConfig(process.env, existsSync);
const base: Record<string, string | undefined> = {
  ...hostBuildEnv(process.env, DEFAULT_BUILD_ENV_ALLOW),
  HOME: process.env.HOME,
  CI: "true",
  NEXT_TELEMETRY_DISABLED: "1",
  ...(globalconfig ? { npm_config_globalconfig: globalconfig } : {}),
  PIP_NO_INDEX: "1",
  PIP_CONFIG_FILE: "/dev/null",
  PIP_FIND_LINKS: undefined,
};
const builder = new DirBuilder({ artifactsDir: join(dataDir, "artifacts"), cacheDir: join(dataDir, "cache") });
let n = 0;

function copy(app: string, change: boolean): string {
  const dir = join(mkdtempSync(join(root, "src-")), app);
  cpSync(join(FIXTURES, app), dir, { recursive: true });
  if (change) writeFileSync(join(dir, "CHANGED"), String(Date.now())); // a code change: new digest
  return dir;
}

/** A fresh data dir sharing the first one's tool cache. */
function toolsCachedBuilder(): { builder: DirBuilder; dir: string } {
  const dir = mkdtempSync(join(root, "berth-tools-"));
  mkdirSync(join(dir, "cache"), { recursive: true });
  symlinkSync(join(dataDir, "cache", "toolchains"), join(dir, "cache", "toolchains"));
  return { builder: new DirBuilder({ artifactsDir: join(dir, "artifacts"), cacheDir: join(dir, "cache") }), dir };
}

async function berth(app: string, change: boolean, on: { builder: DirBuilder; dir: string } = { builder, dir: dataDir }): Promise<{ ms: number; path: readonly string[] }> {
  const t0 = performance.now();
  const a = await on.builder.build({
    inputs: { runtime: "auto", buildCommand: null, publishDir: null, extra: null, ...APPS[app]!.settings },
    digest: String(++n).padStart(64, "0"),
    project: "bench",
    service: app,
    sourceRoot: copy(app, change),
    rootDir: ".",
    env: { ...base, npm_config_cache: join(on.dir, "cache", "npm") },
    signal: AbortSignal.timeout(900_000),
    onLog: () => {},
    timeoutMs: 900_000,
  });
  return { ms: performance.now() - t0, path: a.kind === "dir" ? (a.runtime?.path ?? []) : [] };
}

function byHand(app: string, toolPath: readonly string[]): Promise<number> {
  const dir = copy(app, false);
  const env = {
    ...base,
    PATH: [...toolPath.filter((p) => !p.includes("/artifacts/")), base.PATH].join(":"),
    npm_config_cache: join(handDir, "npm"),
    YARN_CACHE_FOLDER: join(handDir, "yarn"),
    npm_config_store_dir: join(handDir, "pnpm", "store"),
    npm_config_cache_dir: join(handDir, "pnpm", "cache"),
    npm_config_state_dir: join(handDir, "pnpm", "state"),
  };
  const t0 = performance.now();
  return new Promise((resolve, reject) =>
    execFile("/bin/sh", ["-c", APPS[app]!.byHand], { cwd: dir, env, maxBuffer: 256 * 1024 * 1024, timeout: 900_000 }, (err, _out, stderr) =>
      err ? reject(new Error(`${app} by hand: ${stderr.slice(-2000)}`)) : resolve(performance.now() - t0),
    ),
  );
}

const s = (ms: number) => (ms / 1000).toFixed(1);
const rows: string[] = [];
for (const app of only) {
  const cold = await berth(app, false);
  const handCold = await byHand(app, cold.path);
  const coldTools = await berth(app, false, toolsCachedBuilder());
  const warm = await berth(app, true);
  const handWarm = await byHand(app, cold.path);
  const r = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  const row = `| ${app} | ${s(cold.ms)} | ${s(coldTools.ms)} | ${s(handCold)} | ${r(cold.ms, handCold)} | ${r(coldTools.ms, handCold)} | ${s(warm.ms)} | ${s(handWarm)} | ${r(warm.ms, handWarm)} |`;
  rows.push(row);
  console.log(row);
}
console.log(
  ["", "| app | Berth cold s | Berth cold, tools cached s | by hand cold s | ratio cold | ratio cold, tools cached | Berth warm s | by hand warm s | ratio warm |", "|---|---|---|---|---|---|---|---|---|", ...rows].join("\n"),
);
rmSync(root, { recursive: true, force: true });
