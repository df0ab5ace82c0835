/**
 * The staged parser: YAML (with positions) -> aliases -> schema -> normalize -> rules, then each
 * environment re-checked with its overrides merged. Never throws for bad input: every problem
 * comes back as a located diagnostic.
 */
import { rewriteAliases, sourcePath } from "./aliases.ts";
import { type Diagnostic, type Location, type Path, Reporter } from "./diagnostics.ts";
import { mergeEnvironment, overridePath } from "./environments.ts";
import { reportIssues } from "./issues.ts";
import { normalize } from "./normalize.ts";
import { checkPolicy, type HostPolicy } from "./policy.ts";
import { checkRules } from "./rules.ts";
import { blueprintSchema, type RawBlueprint } from "./schema/root.ts";
import { parseYamlSource } from "./source.ts";
import type { Blueprint } from "./types.ts";

export type ParseResult =
  | { readonly ok: true; readonly blueprint: Blueprint; readonly warnings: Diagnostic[] }
  | { readonly ok: false; readonly errors: Diagnostic[]; readonly warnings: Diagnostic[] };

/**
 * Parses and validates a blueprint's text. `file` is only used in diagnostics; `policy` adds the
 * host's rules (reserved ports, the base domain), checked in every environment.
 */
export function parseBlueprint(text: string, opts: { file: string; policy?: HostPolicy | ((project: string) => HostPolicy) }): ParseResult {
  try {
    return parseStages(text, opts.file, opts.policy);
  } catch (e) {
    // A bug in a stage must not take the caller down; report it where the file starts.
    const detail = e instanceof Error ? e.message : String(e);
    const r = new Reporter(opts.file, () => ({ line: 1, column: 1 }));
    r.error("BERTH_INTERNAL", { detail }, []);
    return { ok: false, errors: r.errors, warnings: [] };
  }
}

function parseStages(text: string, file: string, policyOf: HostPolicy | ((project: string) => HostPolicy) | undefined): ParseResult {
  const src = parseYamlSource(text);
  if (src.errors.length > 0) {
    const r = new Reporter(file, () => ({ line: 1, column: 1 }));
    for (const e of src.errors) r.errors.push({ ...makeYamlDiag(r, e.message, YAML_HINTS[e.code] ?? YAML_HINTS.DEFAULT!), line: e.at.line, column: e.at.column });
    return { ok: false, errors: r.errors, warnings: [] };
  }
  const aliased = rewriteAliases(src.value);
  const locate = (path: Path, onKey?: boolean): Location => src.locate(sourcePath(path, aliased.renamed), onKey);
  const out = new Reporter(file, locate);
  for (const w of aliased.warnings) out.warn("BERTH_BLUEPRINT_DEPRECATED_ALIAS", { alias: w.alias, name: w.name }, w.path, true);
  const doc = aliased.value;
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    out.error("BERTH_BLUEPRINT_NOT_A_MAP", {}, []);
    return { ok: false, errors: out.errors, warnings: out.warnings };
  }
  const checked = blueprintSchema.safeParse(doc);
  if (!checked.success) {
    reportIssues(checked.error.issues, blueprintSchema, doc, out);
    return fail(out);
  }
  const raw = checked.data;
  // The host's rules may depend on the project (ports an owner allowed it).
  const policy = typeof policyOf === "function" ? policyOf(raw.project) : policyOf;
  const blueprint = normalize(raw, out);
  checkRules(blueprint, raw, out);
  if (policy) checkPolicy(blueprint, policy, out);
  if (out.errors.length > 0) return fail(out);
  for (const [envName, env] of Object.entries(raw.environments ?? {})) {
    // Only overrides can make an environment differ from the (already valid) base.
    if (env.services || env.databases || env.keyValues || env.envGroups) checkEnvironment(raw, envName, file, locate, out, policy);
  }
  if (out.errors.length > 0) return fail(out);
  return { ok: true, blueprint, warnings: out.warnings };
}

/** Re-validates the document with one environment's overrides merged; errors point at the override. */
function checkEnvironment(raw: RawBlueprint, envName: string, file: string, locate: (p: Path, k?: boolean) => Location, out: Reporter, policy: HostPolicy | undefined): void {
  const source = raw as Record<string, unknown>;
  const merged = mergeEnvironment(source, envName);
  const envOut = new Reporter(file, (path, onKey) => locate(overridePath(source, envName, path), onKey));
  const checked = blueprintSchema.safeParse(merged);
  if (!checked.success) reportIssues(checked.error.issues, blueprintSchema, merged, envOut);
  else {
    const normalized = normalize(checked.data, envOut);
    checkRules(normalized, checked.data, envOut);
    if (policy) checkPolicy(normalized, policy, envOut);
  }
  for (const e of envOut.errors) {
    out.errors.push({ ...e, message: `environment '${envName}': ${e.message}`, path: [...overridePath(source, envName, e.path)] });
  }
}

const YAML_HINTS: Record<string, string> = {
  DUPLICATE_KEY: "A name may appear only once in a mapping: rename the second one or merge the two.",
  TAB_AS_INDENT: "Indent with spaces; YAML does not allow tabs.",
  TO_JS: "Too many aliases (*name) expand this document; write the values out.",
  DEFAULT: "Check indentation and quoting near this line; YAML uses spaces, never tabs, and values with `: ` or `#` need quotes.",
};

function makeYamlDiag(r: Reporter, detail: string, suggestion: string): Diagnostic {
  r.error("BERTH_BLUEPRINT_YAML", { detail, suggestion }, []);
  return r.errors.pop()!;
}

function fail(out: Reporter): ParseResult {
  const seen = new Set<string>();
  const errors = out.errors.filter((e) => {
    const id = `${e.code}|${e.line}|${e.column}|${e.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  errors.sort((a, b) => a.line - b.line || a.column - b.column);
  return { ok: false, errors, warnings: out.warnings };
}
