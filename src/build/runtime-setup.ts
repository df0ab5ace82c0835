/**
 * Sets a build directory up for its runtime before anything runs in it: the Node.js, npm and
 * package manager the project asks for (tool cache), or the service's virtualenv. Returns the
 * environment build steps run with and the runtime recorded with the artifact, so instances,
 * preDeploy and cron tasks use the same toolchain. Decisions: docs/design/build-runtimes.md.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import semver from "semver";
import { BerthError } from "../core/errors.ts";
import type { ArtifactRuntime } from "../engine/engine.ts";
import type { ToolContext } from "./toolchains/context.ts";
import type { InstallRunner } from "./toolchains/tool-cache.ts";
import { provideNode } from "./toolchains/node.ts";
import { nodePins } from "./toolchains/node-version.ts";
import { choosePackageManager, type PackageManagerChoice, packageManagerEnv, providePackageManager, readPackageManagerFiles } from "./toolchains/package-managers.ts";
import { findInterpreters, VENV_DIR, venvEnv } from "./toolchains/python.ts";
import { type PythonInstallPlan, pythonInstallPlan } from "./toolchains/python-deps.ts";
import { choosePython, pythonPins } from "./toolchains/python-version.ts";

/** Runtime versions asked for by the blueprint (the repository's own files win over these). */
export interface VersionSettings {
  readonly nodeVersion?: string;
  /** A plain-value NODE_VERSION variable of the service. */
  readonly nodeVersionEnv?: string;
  readonly pythonVersion?: string;
  readonly pythonVersionEnv?: string;
}

export interface PreparedRuntime {
  /** What build steps run with: the toolchain first on PATH, package-manager caches, VIRTUAL_ENV. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readOnlyPaths: readonly string[];
  readonly node?: { readonly packageManager: PackageManagerChoice; readonly version: string };
  readonly python?: { readonly venv: string; readonly plan: PythonInstallPlan };
  /** Recorded with the artifact; paths inside the build directory are rewritten when it moves. */
  readonly runtime: ArtifactRuntime;
}

const PYTHON_MARKERS = ["requirements.txt", "pyproject.toml", "Pipfile", "setup.py", "runtime.txt", ".python-version"];

/** Which runtimes a directory needs (pure apart from looking at file names). */
export function runtimesFor(dir: string, runtime: string): { node: boolean; python: boolean } {
  const has = (f: string) => existsSync(join(dir, f));
  if (runtime === "custom") return { node: false, python: false };
  if (runtime === "node") return { node: true, python: false };
  if (runtime === "python") return { node: has("package.json"), python: true };
  return { node: has("package.json"), python: runtime !== "static" && PYTHON_MARKERS.some(has) };
}

const read = (dir: string, f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), "utf8") : undefined);

/**
 * Provides the toolchain of the service in `dir` and says how to run steps with it. `cacheDir` is
 * the project's own build cache (package-manager caches); `inBuild` runs a step in the build
 * directory as the build does (sandboxed: the virtualenv is the project user's).
 */
export async function setupRuntime(dir: string, runtime: string, settings: VersionSettings, ctx: ToolContext, cacheDir: string, inBuild: InstallRunner): Promise<PreparedRuntime> {
  const want = runtimesFor(dir, runtime);
  const path: string[] = [];
  const env: Record<string, string> = {};
  const readOnlyPaths: string[] = [];
  const resolved: Record<string, string> = {};
  const stepEnv: Record<string, string | undefined> = { ...ctx.env };
  let node: PreparedRuntime["node"];
  let python: PreparedRuntime["python"];

  if (want.node) {
    const pins = nodePins({ packageJson: read(dir, "package.json"), nodeVersionFile: read(dir, ".node-version"), nvmrc: read(dir, ".nvmrc") }, { nodeVersion: settings.nodeVersion, envVar: settings.nodeVersionEnv });
    const choice = choosePackageManager(readPackageManagerFiles(dir));
    const npmPin = choice.name === "npm" && semver.valid(choice.version) ? choice.version : undefined;
    const toolchain = await provideNode(ctx, pins, npmPin);
    const pm = await providePackageManager(ctx, choice, toolchain.version);
    for (const w of choice.warnings) ctx.log(`warning: ${w}`);
    path.push(...toolchain.binDirs, ...(pm?.binDirs ?? []));
    readOnlyPaths.push(...toolchain.readOnlyPaths, ...(pm?.readOnlyPaths ?? []));
    Object.assign(stepEnv, packageManagerEnv(choice, cacheDir, ctx.env), toolchain.nodedir ? { npm_config_nodedir: toolchain.nodedir } : {});
    resolved.node = toolchain.version;
    resolved.npm = toolchain.npmVersion;
    if (pm) resolved.packageManager = `${pm.name}@${pm.version}`;
    ctx.log(`runtime: Node.js ${toolchain.version} (${toolchain.from}), npm ${toolchain.npmVersion}${pm ? `, ${pm.name} ${pm.version} (${choice.from})` : choice.lockfile ? ` (${choice.from})` : ""}`);
    node = { packageManager: choice, version: toolchain.version };
  }

  if (want.python) {
    const pins = pythonPins({ pythonVersionFile: read(dir, ".python-version"), runtimeTxt: read(dir, "runtime.txt") }, { pythonVersion: settings.pythonVersion, envVar: settings.pythonVersionEnv });
    const choice = choosePython(pins, await findInterpreters(ctx.signal));
    if (!choice) throw new BerthError("BERTH_BUILD_TOOL_UNAVAILABLE", { tool: "Python", detail: "no python3 under /usr/bin or /usr/local/bin", suggestion: "Install the OS packages python3 and python3-venv (apt-get install python3-venv)." });
    if (choice.warning) ctx.log(`warning: ${choice.warning}`);
    ctx.log(`runtime: Python ${choice.interpreter.version} (${choice.interpreter.path}; ${choice.from}), virtualenv ${VENV_DIR} with the system's packages`);
    // Debian's python3-* packages belong to that interpreter; --system-site-packages lets the venv see them.
    await inBuild([choice.interpreter.path, "-m", "venv", "--system-site-packages", VENV_DIR], "venv");
    const venv = join(dir, VENV_DIR);
    const v = venvEnv(venv);
    path.unshift(...v.path);
    Object.assign(env, v.env);
    resolved.python = choice.interpreter.version;
    const plan = pythonInstallPlan({
      requirementsTxt: existsSync(join(dir, "requirements.txt")),
      pyproject: read(dir, "pyproject.toml"),
      pipfile: read(dir, "Pipfile"),
      pipfileLock: read(dir, "Pipfile.lock"),
      setupPy: existsSync(join(dir, "setup.py")),
    });
    python = { venv, plan };
  }

  Object.assign(stepEnv, env, { PATH: [...path, ctx.env.PATH ?? "/usr/local/bin:/usr/bin:/bin"].join(":") });
  return {
    env: stepEnv,
    readOnlyPaths,
    ...(node ? { node } : {}),
    ...(python ? { python } : {}),
    runtime: { resolved, path, env, readOnlyPaths },
  };
}
