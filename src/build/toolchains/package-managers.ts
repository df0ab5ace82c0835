/**
 * Which package manager installs a Node project, and how: package.json's `packageManager` field
 * (as corepack reads it) wins, else the lockfile. yarn, pnpm and bun come from the npm registry
 * into the tool cache (corepack cannot fetch them on machines whose registry access goes through
 * npm only). Installs keep the lockfile frozen (`npm ci`, `--frozen-lockfile`, `--immutable`).
 * Detection and command lines are pure; `providePackageManager` installs the tool.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import semver from "semver";
import { BerthError } from "../../core/errors.ts";
import { capture } from "./capture.ts";
import type { ProvidedTool, ToolContext } from "./context.ts";

export type PackageManagerName = "npm" | "yarn" | "yarn-berry" | "pnpm" | "bun";

export interface PackageManagerChoice {
  readonly name: PackageManagerName;
  /** An exact version, or a range resolved on the registry (`10` = newest 10.x). */
  readonly version: string;
  /** The lockfile the install is frozen to, or null (a plain install). */
  readonly lockfile: string | null;
  /** Why (`pnpm-lock.yaml`, `package.json packageManager "pnpm@10.1.0"`). */
  readonly from: string;
  readonly warnings: readonly string[];
}

/** What detection reads: which files exist and the texts that say which version. */
export interface PackageManagerFiles {
  readonly present: ReadonlySet<string>;
  readonly packageJson?: string;
  readonly yarnLock?: string;
  readonly pnpmLock?: string;
}

/** Lockfiles by preference when several are committed (a warning says which one was used). */
const LOCKFILES: readonly [string, "npm" | "yarn" | "pnpm" | "bun"][] = [
  ["pnpm-lock.yaml", "pnpm"],
  ["yarn.lock", "yarn"],
  ["bun.lock", "bun"],
  ["bun.lockb", "bun"],
  ["package-lock.json", "npm"],
  ["npm-shrinkwrap.json", "npm"],
];

/** The files detection needs, read from a project directory. */
export function readPackageManagerFiles(dir: string): PackageManagerFiles {
  const present = new Set([...LOCKFILES.map(([f]) => f), ".yarnrc.yml"].filter((f) => existsSync(join(dir, f))));
  const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), "utf8") : undefined);
  const packageJson = read("package.json");
  const yarnLock = present.has("yarn.lock") ? read("yarn.lock") : undefined;
  const pnpmLock = present.has("pnpm-lock.yaml") ? read("pnpm-lock.yaml") : undefined;
  return { present, ...(packageJson !== undefined ? { packageJson } : {}), ...(yarnLock !== undefined ? { yarnLock } : {}), ...(pnpmLock !== undefined ? { pnpmLock } : {}) };
}

/** yarn.lock written by yarn 2+ (`__metadata:`) rather than yarn 1. */
function berryLockVersion(yarnLock: string | undefined): number | undefined {
  if (!yarnLock || !/^__metadata:/m.test(yarnLock)) return undefined;
  return Number(/^ {2}version: (\d+)/m.exec(yarnLock)?.[1] ?? 8);
}

/** pnpm major that writes a lockfile version: 9.0 -> pnpm 9/10, 6.x -> 8, 5.x -> 7. */
function pnpmMajorFor(pnpmLock: string | undefined): string {
  const v = Number(/^lockfileVersion:\s*'?(\d+)/m.exec(pnpmLock ?? "")?.[1] ?? 9);
  return v >= 9 ? "10" : v >= 6 ? "8" : "7";
}

function fromField(field: string, f: PackageManagerFiles): PackageManagerChoice {
  const where = "package.json packageManager";
  const m = /^(npm|yarn|pnpm|bun)@([^+\s]+)(\+\S+)?$/.exec(field.trim());
  if (!m) throw new BerthError("BERTH_BUILD_PACKAGE_MANAGER_INVALID", { where, detail: `"${field}" is not <name>@<version> with name npm, yarn, pnpm or bun` });
  const [, tool, version] = m as unknown as [string, "npm" | "yarn" | "pnpm" | "bun", string];
  if (!semver.valid(version)) throw new BerthError("BERTH_BUILD_PACKAGE_MANAGER_INVALID", { where, detail: `"${field}" must name an exact version (corepack does too), e.g. ${tool}@${tool === "yarn" ? "1.22.22" : tool === "pnpm" ? "10.34.9" : "1.2.3"}` });
  const name: PackageManagerName = tool === "yarn" && semver.major(version) >= 2 ? "yarn-berry" : tool;
  const own = LOCKFILES.filter(([, t]) => t === tool).map(([file]) => file).find((file) => f.present.has(file)) ?? null;
  const others = LOCKFILES.filter(([file, t]) => t !== tool && f.present.has(file)).map(([file]) => file);
  const warnings = others.length ? [`package.json packageManager is ${tool}: ${others.join(", ")} ignored`] : [];
  return { name, version, lockfile: own, from: `${where} "${field.trim()}"`, warnings };
}

/** Chooses the package manager of a Node project (pure). */
export function choosePackageManager(f: PackageManagerFiles): PackageManagerChoice {
  let field: unknown;
  try {
    field = f.packageJson ? (JSON.parse(f.packageJson) as { packageManager?: unknown }).packageManager : undefined;
  } catch (e) {
    throw new BerthError("BERTH_BUILD_MANIFEST_INVALID", { file: "package.json", detail: (e as Error).message });
  }
  if (typeof field === "string" && field.trim()) return fromField(field, f);
  const found = LOCKFILES.filter(([file]) => f.present.has(file));
  const warnings = found.length > 1 ? [`several lockfiles (${found.map(([file]) => file).join(", ")}): ${found[0]![0]} used`] : [];
  const [lockfile, tool] = found[0] ?? [null, "npm"];
  switch (tool) {
    case "pnpm":
      return { name: "pnpm", version: pnpmMajorFor(f.pnpmLock), lockfile, from: lockfile!, warnings };
    case "yarn": {
      const berry = berryLockVersion(f.yarnLock);
      if (berry !== undefined || f.present.has(".yarnrc.yml")) return { name: "yarn-berry", version: berry !== undefined && berry < 8 ? "3" : "4", lockfile, from: `${lockfile} (yarn 2+ format)`, warnings };
      return { name: "yarn", version: "1.22.22", lockfile, from: `${lockfile} (yarn 1 format)`, warnings };
    }
    case "bun":
      return { name: "bun", version: "1", lockfile, from: lockfile!, warnings };
    default:
      return { name: "npm", version: "", lockfile, from: lockfile ?? "no lockfile", warnings };
  }
}

/** The frozen install (or, without a lockfile, the plain install). */
export function installArgv(c: PackageManagerChoice): string[] {
  const frozen = c.lockfile !== null;
  switch (c.name) {
    case "npm":
      return frozen ? ["npm", "ci", "--no-audit", "--no-fund"] : ["npm", "install", "--no-audit", "--no-fund"];
    case "yarn":
      return ["yarn", "install", "--non-interactive", ...(frozen ? ["--frozen-lockfile"] : [])];
    case "yarn-berry":
      return ["yarn", "install", ...(frozen ? ["--immutable"] : ["--no-immutable"])];
    case "pnpm":
      // pnpm freezes by default under CI=true; without a lockfile that would refuse to install.
      return ["pnpm", "install", frozen ? "--frozen-lockfile" : "--no-frozen-lockfile"];
    case "bun":
      return ["bun", "install", ...(frozen ? ["--frozen-lockfile"] : [])];
  }
}

/** `npm run <script>` in the project's own package manager. */
export function runScriptArgv(c: PackageManagerChoice, script: string): string[] {
  return [c.name === "yarn-berry" ? "yarn" : c.name, "run", script];
}

/**
 * Where the package manager keeps its downloads: under Berth's build cache, never the daemon
 * user's home (`cacheDir` is `<data dir>/cache`).
 */
export function packageManagerEnv(c: PackageManagerChoice, cacheDir: string, hostEnv: Readonly<Record<string, string | undefined>>): Record<string, string> {
  switch (c.name) {
    case "npm":
      return {};
    case "yarn":
      return { YARN_CACHE_FOLDER: join(cacheDir, "yarn") };
    case "yarn-berry": {
      // yarn 2+ reads no npmrc: carry the host's registry over if it names one.
      const registry = hostEnv.npm_config_registry ?? hostEnv.NPM_CONFIG_REGISTRY;
      return {
        YARN_GLOBAL_FOLDER: join(cacheDir, "yarn-berry"),
        YARN_ENABLE_TELEMETRY: "0",
        ...(registry && !hostEnv.YARN_NPM_REGISTRY_SERVER ? { YARN_NPM_REGISTRY_SERVER: registry } : {}),
      };
    }
    case "pnpm":
      return { npm_config_store_dir: join(cacheDir, "pnpm", "store"), npm_config_cache_dir: join(cacheDir, "pnpm", "cache"), npm_config_state_dir: join(cacheDir, "pnpm", "state") };
    case "bun":
      return { BUN_INSTALL_CACHE_DIR: join(cacheDir, "bun") };
  }
}

/** What an install leaves besides node_modules directories (yarn 2+ Plug'n'Play). */
export function extraInstallOutputs(c: PackageManagerChoice): string[] {
  return c.name === "yarn-berry" ? [".pnp.cjs", ".pnp.loader.mjs", ".yarn/cache", ".yarn/unplugged", ".yarn/install-state.gz"] : [];
}

/** The npm package that carries a package manager, and where its executable ends up. */
export function toolPackage(name: Exclude<PackageManagerName, "npm">, version: string, cpuFlags = ""): { pkg: string; bin: (dir: string) => string } {
  switch (name) {
    case "yarn":
      return { pkg: `yarn@${version}`, bin: (dir) => join(dir, "node_modules", ".bin") };
    case "yarn-berry":
      return { pkg: `@yarnpkg/cli-dist@${version}`, bin: (dir) => join(dir, "node_modules", ".bin") };
    case "pnpm":
      return { pkg: `pnpm@${version}`, bin: (dir) => join(dir, "node_modules", ".bin") };
    case "bun": {
      // bun's own package fetches its binary in a postinstall; its platform package carries it.
      // Without AVX2 only the baseline build runs.
      const pkg = /\bavx2\b/.test(cpuFlags) ? "@oven/bun-linux-x64" : "@oven/bun-linux-x64-baseline";
      return { pkg: `${pkg}@${version}`, bin: (dir) => join(dir, "node_modules", ...pkg.split("/"), "bin") };
    }
  }
}

/** Installs the chosen package manager into the tool cache (npm comes with the Node toolchain). */
export async function providePackageManager(ctx: ToolContext, c: PackageManagerChoice, nodeVersion: string): Promise<ProvidedTool | undefined> {
  if (c.name === "npm") return undefined;
  if (process.arch !== "x64" && c.name === "bun") {
    throw new BerthError("BERTH_BUILD_TOOL_UNAVAILABLE", { tool: "bun", detail: `Berth provides bun for linux-x64 only (this is ${process.arch})`, suggestion: "Commit a package-lock.json (npm) or another lockfile instead." });
  }
  const cpu = c.name === "bun" && existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8").slice(0, 20_000) : "";
  let version = c.version;
  if (!semver.valid(version)) {
    const { pkg } = toolPackage(c.name, "x", cpu);
    const name = pkg.slice(0, pkg.lastIndexOf("@"));
    const found = (await ctx.registry.versions(name, version, ctx)).filter((v) => semver.valid(v) && !semver.prerelease(v)).sort(semver.rcompare)[0];
    if (!found) throw new BerthError("BERTH_BUILD_TOOL_UNAVAILABLE", { tool: `${c.name} ${version}`, detail: `the registry has no ${name}@${version}`, suggestion: "Set package.json packageManager to a version the registry has." });
    version = found;
  }
  if (c.name === "pnpm" && semver.major(version) >= 11 && semver.major(nodeVersion) < 22) {
    ctx.log(`warning: pnpm ${version} is known to crash on Node.js ${nodeVersion}; pnpm 10 or Node.js 22+ works`);
  }
  const { pkg, bin } = toolPackage(c.name, version, cpu);
  const id = `${c.name}-${version}`;
  if (!ctx.cache.has(id)) ctx.log(`installing ${c.name === "yarn-berry" ? "yarn" : c.name} ${version} into the tool cache`);
  const dir = await ctx.cache.ensure(id, [pkg], ctx.run);
  if (c.name === "bun") {
    const out = await capture([join(bin(dir), "bun"), "--version"], { env: { PATH: bin(dir) }, timeoutMs: 30_000, signal: ctx.signal }).catch((e: Error) => e);
    if (out instanceof Error) throw new BerthError("BERTH_BUILD_TOOL_UNAVAILABLE", { tool: `bun ${version}`, detail: `it does not run here (${out.message.split("\n")[0]})`, suggestion: "Commit a package-lock.json (npm) or another lockfile instead." });
  }
  return { name: c.name === "yarn-berry" ? "yarn" : c.name, version, binDirs: [bin(dir)], readOnlyPaths: [dir] };
}
