/**
 * What a Python project asks to have installed, read from its files (pure): requirements.txt is
 * handed to pip as it is; pyproject.toml (PEP 621 `[project] dependencies`, or Poetry's
 * `[tool.poetry.dependencies]`) and Pipfile (its Pipfile.lock's pins when committed) become
 * PEP 508 requirement lines. Entries pip cannot take from a name (git, path, url) are skipped
 * with a warning.
 */
import { parse as parseToml } from "smol-toml";
import { BerthError } from "../../core/errors.ts";

export type PythonInstallPlan =
  | { readonly kind: "requirements-file"; readonly file: string }
  | { readonly kind: "requirements"; readonly source: string; readonly requirements: readonly string[]; readonly installProject: boolean; readonly warnings: readonly string[] }
  | { readonly kind: "project"; readonly source: string }
  | { readonly kind: "none" };

export interface PythonProjectFiles {
  readonly requirementsTxt: boolean;
  readonly pyproject?: string;
  readonly pipfile?: string;
  readonly pipfileLock?: string;
  readonly setupPy: boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** Poetry's `^`/`~`/bare versions as a PEP 440 specifier. */
export function poetrySpecifier(spec: string): string {
  const s = spec.trim();
  if (s === "*" || s === "") return "";
  const m = /^([\^~])\s*(\d+(?:\.\d+)*)$/.exec(s);
  if (m) {
    const parts = m[2]!.split(".").map(Number);
    let upper: number[];
    if (m[1] === "~") upper = parts.length === 1 ? [parts[0]! + 1] : [parts[0]!, parts[1]! + 1];
    else {
      // ^ keeps the leftmost non-zero part: ^1.2 -> <2, ^0.92 -> <0.93, ^0.0.3 -> <0.0.4.
      const i = parts.findIndex((p) => p !== 0);
      const at = i === -1 ? parts.length - 1 : i;
      upper = [...parts.slice(0, at), parts[at]! + 1];
    }
    return `>=${m[2]},<${upper.join(".")}`;
  }
  if (/^\d+(\.\d+)*$/.test(s)) return `==${s}`;
  return s.replace(/\s+/g, "");
}

function line(name: string, spec: unknown, where: string, warnings: string[], poetry: boolean): string | undefined {
  const conv = (v: string) => (poetry ? poetrySpecifier(v) : v.trim() === "*" ? "" : v.trim());
  if (typeof spec === "string") return `${name}${conv(spec)}`;
  if (Array.isArray(spec)) {
    warnings.push(`${where}: several constraints for ${name}; the first is used`);
    return line(name, spec[0], where, warnings, poetry);
  }
  if (isObj(spec)) {
    if (spec.git || spec.path || spec.url || spec.file) {
      warnings.push(`${where}: ${name} comes from a ${spec.git ? "git repository" : spec.path ? "local path" : "URL"}; not installed by Berth (install it in a build command)`);
      return undefined;
    }
    const extras = Array.isArray(spec.extras) && spec.extras.length ? `[${spec.extras.map(String).join(",")}]` : "";
    const version = typeof spec.version === "string" ? conv(spec.version) : "";
    const markers = typeof spec.markers === "string" ? ` ; ${spec.markers}` : "";
    return `${name}${extras}${version}${markers}`;
  }
  return name;
}

function toml(text: string, file: string): Obj {
  try {
    return parseToml(text) as Obj;
  } catch (e) {
    throw new BerthError("BERTH_BUILD_MANIFEST_INVALID", { file, detail: (e as Error).message.split("\n")[0] ?? "" });
  }
}

/** Requirements of a pyproject.toml: PEP 621 first, else Poetry's table. */
export function pyprojectRequirements(text: string): { requirements: string[]; installProject: boolean; warnings: string[] } {
  const doc = toml(text, "pyproject.toml");
  const warnings: string[] = [];
  const project = isObj(doc.project) ? doc.project : undefined;
  const poetry = isObj(doc.tool) && isObj(doc.tool.poetry) ? doc.tool.poetry : undefined;
  let requirements: string[] = [];
  if (project && Array.isArray(project.dependencies)) requirements = project.dependencies.map(String);
  else if (poetry && isObj(poetry.dependencies)) {
    requirements = Object.entries(poetry.dependencies)
      .filter(([name]) => name.toLowerCase() !== "python")
      .flatMap(([name, spec]) => line(name, spec, "pyproject.toml [tool.poetry.dependencies]", warnings, true) ?? []);
  }
  // A declared build system means the project is a package: install it (its code) too. An app
  // whose pyproject only lists dependencies runs from its directory, as on Render.
  const packageMode = !(poetry && poetry["package-mode"] === false);
  return { requirements, installProject: isObj(doc["build-system"]) && packageMode, warnings };
}

/** Requirements of a Pipfile, pinned by Pipfile.lock's `default` section when it is committed. */
export function pipfileRequirements(pipfile: string, lock?: string): { requirements: string[]; source: string; warnings: string[] } {
  const warnings: string[] = [];
  if (lock !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(lock);
    } catch (e) {
      throw new BerthError("BERTH_BUILD_MANIFEST_INVALID", { file: "Pipfile.lock", detail: (e as Error).message });
    }
    const deflt = isObj(parsed) && isObj(parsed.default) ? parsed.default : {};
    const requirements = Object.entries(deflt).flatMap(([name, spec]) => line(name, spec, "Pipfile.lock", warnings, false) ?? []);
    return { requirements, source: "Pipfile.lock", warnings };
  }
  const doc = toml(pipfile, "Pipfile");
  const packages = isObj(doc.packages) ? doc.packages : {};
  const requirements = Object.entries(packages).flatMap(([name, spec]) => line(name, spec, "Pipfile [packages]", warnings, false) ?? []);
  return { requirements, source: "Pipfile", warnings };
}

/** How a project's dependencies are installed when the service has no build command. */
export function pythonInstallPlan(f: PythonProjectFiles): PythonInstallPlan {
  if (f.requirementsTxt) return { kind: "requirements-file", file: "requirements.txt" };
  if (f.pyproject !== undefined) {
    const r = pyprojectRequirements(f.pyproject);
    return { kind: "requirements", source: "pyproject.toml", requirements: r.requirements, installProject: r.installProject, warnings: r.warnings };
  }
  if (f.pipfile !== undefined) {
    const r = pipfileRequirements(f.pipfile, f.pipfileLock);
    return { kind: "requirements", source: r.source, requirements: r.requirements, installProject: false, warnings: r.warnings };
  }
  if (f.setupPy) return { kind: "project", source: "setup.py" };
  return { kind: "none" };
}

/** pip's own error lines in a failed step's output (`ERROR: No matching distribution ...`). */
export function pipErrorLines(lines: readonly string[]): string[] {
  return lines.filter((l) => /^(ERROR: |error: externally-managed-environment)/.test(l.trim())).map((l) => l.trim().replace(/^ERROR: /, ""));
}
