/**
 * Runtime pins of other platforms -> Berth's runtime settings (issue 14): a plain NODE_VERSION /
 * PYTHON_VERSION variable (Render), NIXPACKS_NODE_VERSION / NIXPACKS_PYTHON_VERSION (Railway)
 * becomes the service's `nodeVersion` / `pythonVersion`, with a comment saying how Berth applies
 * it. What Berth applies differently is an approximation warning: Render and Nixpacks let the
 * variable override the repository's own pins, Berth lets the repository's files win; Berth
 * provides any Node.js from the npm registry but never downloads Python.
 */
import { nodeRange, pythonVersionParts } from "../runtime-versions.ts";
import type { Path } from "../diagnostics.ts";
import { type Draft, isObj, type Obj } from "./draft.ts";

/** Files of the repository next to the imported file, read relative to it; undefined when absent. */
export interface RepoFiles {
  read(path: string): string | undefined;
}

export interface PinContext {
  readonly platform: string;
  /** Where a variable was written in the source file (for located warnings). */
  readonly sourcePath: (key: string) => Path;
  readonly outPath: Path;
  readonly repo?: RepoFiles;
  /** The service's directory inside the repository. */
  readonly rootDir: string;
  /** Whether the platform lets the variable override the repository's pins (Render, Nixpacks do). Default true. */
  readonly variableWins?: boolean;
}

const NODE_VARS = ["NODE_VERSION", "NIXPACKS_NODE_VERSION"];
const PYTHON_VARS = ["PYTHON_VERSION", "NIXPACKS_PYTHON_VERSION"];

/** The repository's own Node pin (what Berth's build reads first), if any. */
function repoNodePin(repo: RepoFiles | undefined, rootDir: string): { file: string; value: string } | undefined {
  if (!repo) return undefined;
  const at = (f: string) => (rootDir === "." || rootDir === "" ? f : `${rootDir.replace(/\/+$/, "")}/${f}`);
  try {
    const engines = (JSON.parse(repo.read(at("package.json")) ?? "{}") as { engines?: { node?: unknown } }).engines?.node;
    if (typeof engines === "string" && engines.trim()) return { file: "package.json engines.node", value: engines.trim() };
  } catch {
    // An unreadable package.json is the build's to report.
  }
  for (const f of [".node-version", ".nvmrc"]) {
    const v = repo.read(at(f))?.split("\n").map((l) => l.replace(/#.*$/, "").trim()).find(Boolean);
    if (v) return { file: f, value: v };
  }
  return undefined;
}

function repoPythonPin(repo: RepoFiles | undefined, rootDir: string): { file: string; value: string } | undefined {
  if (!repo) return undefined;
  const at = (f: string) => (rootDir === "." || rootDir === "" ? f : `${rootDir.replace(/\/+$/, "")}/${f}`);
  for (const f of [".python-version", "runtime.txt"]) {
    const v = repo.read(at(f))?.split("\n").map((l) => l.trim()).find(Boolean);
    if (v) return { file: f, value: v };
  }
  return undefined;
}

/** Takes the version variables out of `out.env` and sets `nodeVersion` / `pythonVersion`. */
export function carryRuntimePins(draft: Draft, out: Obj, c: PinContext): void {
  const env = isObj(out.env) ? out.env : {};
  const take = (keys: readonly string[]) => {
    for (const key of keys) {
      const v = env[key];
      if (typeof v === "string" || typeof v === "number") {
        delete env[key];
        return { key, value: String(v).trim() };
      }
    }
    return undefined;
  };
  const node = take(NODE_VARS);
  const repoNode = repoNodePin(c.repo, c.rootDir);
  if (node) {
    if (nodeRange(node.value) === undefined) {
      draft.approx(c.sourcePath(node.key), `${node.key} '${node.value}' is not a Node.js version Berth understands and was left out`, "Set `nodeVersion` to a version or range such as `20.x`.", c.outPath);
    } else {
      out.nodeVersion = node.value;
      draft.comment([...c.outPath, "nodeVersion"], `From ${c.platform}'s ${node.key}. Berth installs this Node.js from the npm registry for the build and the running service; package.json engines.node, .node-version and .nvmrc win over it.`);
      if (repoNode && repoNode.value !== node.value && c.variableWins !== false) {
        draft.approx(c.sourcePath(node.key), `${c.platform} lets ${node.key} (${node.value}) override ${repoNode.file} (${repoNode.value}); Berth builds with ${repoNode.file}`, `Make them agree, or remove the pin you do not want.`, [...c.outPath, "nodeVersion"]);
      }
    }
  } else if (repoNode) {
    draft.comment([...c.outPath, "type"], `Node.js from ${repoNode.file} (${repoNode.value}): Berth's build installs that version.`);
  }
  const python = take(PYTHON_VARS);
  const repoPython = repoPythonPin(c.repo, c.rootDir);
  if (python) {
    if (pythonVersionParts(python.value) === undefined) {
      draft.approx(c.sourcePath(python.key), `${python.key} '${python.value}' is not a Python version and was left out`, "Set `pythonVersion` to a version such as `3.11`.", c.outPath);
    } else {
      out.pythonVersion = python.value;
      draft.approx(
        c.sourcePath(python.key),
        `${python.key} ${python.value} is honoured only if that Python is installed where Berth runs (Berth does not download Python); otherwise the build warns and uses the machine's python3`,
        "Install that Python from the OS packages, or check that the machine's python3 suits the app.",
        [...c.outPath, "pythonVersion"],
      );
      if (repoPython && repoPython.value !== python.value && c.variableWins !== false) {
        draft.approx(c.sourcePath(python.key), `${c.platform} lets ${python.key} (${python.value}) override ${repoPython.file} (${repoPython.value}); Berth uses ${repoPython.file}`, "Make them agree.", [...c.outPath, "pythonVersion"]);
      }
    }
  }
  if (isObj(out.env) && Object.keys(out.env).length === 0) delete out.env;
}

/** A language runtime named by another platform -> Berth's `runtime`, with a note. */
export function runtimeNote(runtime: "node" | "python", platform: string, what: string): string {
  return runtime === "node"
    ? `${platform} ${what}: Berth provides Node.js as the repository pins it (package.json engines.node, .node-version, .nvmrc), else nodeVersion, else 24 LTS; the package manager by packageManager or lockfile.`
    : `${platform} ${what}: the build and the service run in a virtualenv over the machine's python3 (Debian's python3-* packages count as installed); set pythonVersion to ask for another installed Python.`;
}
