/**
 * Environments as overrides: a deep merge of `environments.<name>` over the base document, then
 * the same normalization as the base. Previews start from `previews.baseEnvironment` and apply
 * each service's `preview` settings.
 */
import { BerthError } from "../core/errors.ts";
import { Reporter } from "./diagnostics.ts";
import { normalize } from "./normalize.ts";
import type { RawBlueprint } from "./schema/root.ts";
import type { Blueprint, Environment, Service } from "./types.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * Objects merge key by key, anything else replaces, `null` removes the field. `depth` stops the
 * merge where a value is atomic even though it is an object: an env var's source replaces the
 * base one (merging `{ fromDatabase }` with `{ value }` would name two sources).
 */
export function deepMerge(base: unknown, over: unknown, atomicAt: (path: readonly string[]) => boolean = () => false, path: readonly string[] = []): unknown {
  if (over === undefined) return base;
  if (!isObj(base) || !isObj(over) || atomicAt(path)) return over;
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = deepMerge(base[k], v, atomicAt, [...path, k]);
  }
  return out;
}

/** Env var values inside a section entry: services.<s>.env.<K>, services.<s>.preview.env.<K>, envGroups.<g>.<K>. */
function envValueAt(section: string, path: readonly string[]): boolean {
  if (section === "envGroups") return path.length === 2;
  if (section !== "services") return false;
  return (path.length === 3 && path[1] === "env") || (path.length === 4 && path[1] === "preview" && path[2] === "env");
}

const SECTIONS = ["services", "databases", "keyValues", "envGroups"] as const;

/** The base document with one environment's overrides applied (not yet re-validated). */
export function mergeEnvironment(source: Obj, envName: string): Obj {
  const env = ((source.environments as Obj | undefined)?.[envName] ?? {}) as Obj;
  const out: Obj = { ...source };
  for (const section of SECTIONS) {
    const over = env[section];
    if (isObj(over)) out[section] = deepMerge(source[section] ?? {}, over, (p) => envValueAt(section, p));
  }
  return out;
}

/** Where an error found in a merged environment document should point: the override if it set the field. */
export function overridePath(source: Obj, envName: string, path: readonly (string | number)[]): readonly (string | number)[] {
  const section = path[0];
  if (typeof section !== "string" || !(SECTIONS as readonly string[]).includes(section) || path.length < 2) return path;
  const env = ((source.environments as Obj | undefined)?.[envName] ?? {}) as Obj;
  let node: unknown = env;
  let depth = 0;
  for (const part of path) {
    if (!isObj(node) || !(String(part) in node)) break;
    node = node[String(part)];
    depth++;
  }
  // The override set this entry (or a field on the way to it, beyond the entry's name).
  return depth >= 3 || depth === path.length ? ["environments", envName, ...path] : path;
}

/**
 * The blueprint as one environment runs it: overrides applied, `environment` set. Environment
 * names not defined in the file are accepted for previews (`preview-<n>`) when previews are on,
 * and `development` (what `berth up` runs) always is.
 * Throws BERTH_BLUEPRINT_ENVIRONMENT_UNKNOWN otherwise.
 */
export function resolveEnvironment(bp: Blueprint, envName: string): Blueprint {
  const declared = bp.environments.find((e) => e.name === envName);
  const isPreview = !declared && envName.startsWith("preview") && bp.previews.mode !== "off";
  // `berth up` runs any blueprint locally as `development`: the base blueprint, no overrides.
  const isDevelopment = !declared && envName === "development";
  if (!declared && !isPreview && !isDevelopment) {
    throw new BerthError("BERTH_BLUEPRINT_ENVIRONMENT_UNKNOWN", { name: envName, known: bp.environments.map((e) => e.name).join(", ") || "none" });
  }
  const baseName = declared ? envName : isPreview ? bp.previews.baseEnvironment : undefined;
  const merged = baseName ? mergeEnvironment(bp.source as Obj, baseName) : (bp.source as Obj);
  // The source was validated at parse time, so this reporter stays empty; it only satisfies normalize.
  const resolved = normalize(merged as RawBlueprint, new Reporter("", () => ({ line: 1, column: 1 })));
  const environment: Environment = declared ?? { name: envName, autoDeploy: true, approvalRequired: false };
  if (!isPreview) return { ...resolved, environment, source: bp.source };
  const services = resolved.services.filter((s) => s.preview.replicas > 0).map(previewService);
  return { ...resolved, services, environment, source: bp.source };
}

function previewService(s: Service): Service {
  const env = { ...s.env, ...s.preview.env };
  if (s.type === "cron") return { ...s, env, ...(s.preview.limits ? { limits: s.preview.limits } : {}) };
  if (s.type === "static") return { ...s, env, replicas: s.preview.replicas };
  const { scaling: _dropped, ...rest } = s;
  return { ...rest, env, replicas: s.singleton ? 1 : s.preview.replicas, ...(s.preview.limits ? { limits: s.preview.limits } : {}) } as Service;
}
