/**
 * Environment variable values -> tagged `EnvSource`s, with references resolved to what they
 * name (service, database or key-value store) and `${...}` templates split into parts.
 */
import type { Path, Reporter } from "./diagnostics.ts";
import { formatPath, suggest } from "./diagnostics.ts";
import { DATABASE_PROPERTIES, KEYVALUE_PROPERTIES, SERVICE_PROPERTIES } from "./schema/env.ts";
import type { EnvMap, EnvSource, RefTarget, TemplatePart } from "./types.ts";

/** Names defined in the blueprint, for resolving references. */
export interface NameIndex {
  readonly services: ReadonlySet<string>;
  readonly databases: ReadonlySet<string>;
  readonly keyValues: ReadonlySet<string>;
  /** Group name -> its variable names. */
  readonly groups: ReadonlyMap<string, ReadonlySet<string>>;
}

const PROPS: Record<RefTarget, readonly string[]> = { service: SERVICE_PROPERTIES, database: DATABASE_PROPERTIES, keyValue: KEYVALUE_PROPERTIES };
const DEFAULT_PROP: Record<RefTarget, string> = { service: "hostport", database: "connectionString", keyValue: "url" };
const KIND_WORD: Record<RefTarget, string> = { service: "service", database: "database", keyValue: "key-value store" };
const SOURCE_KEYS = ["value", "generate", "secret", "fromDatabase", "fromKeyValue", "fromService", "fromGroup"] as const;

type RawEnvValue = string | number | boolean | Record<string, unknown>;

function allNames(idx: NameIndex): string[] {
  return [...idx.services, ...idx.databases, ...idx.keyValues];
}

function targetOf(name: string, idx: NameIndex): RefTarget | undefined {
  if (idx.services.has(name)) return "service";
  if (idx.databases.has(name)) return "database";
  if (idx.keyValues.has(name)) return "keyValue";
  return undefined;
}

/** Splits a `${...}` template. Returns parts, or a problem description. */
export function parseTemplate(text: string): { parts: TemplatePart[] } | { problem: string; token: string } {
  const parts: TemplatePart[] = [];
  let buf = "";
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === "$" && text[i + 1] === "$") {
      buf += "$";
      i += 2;
    } else if (ch === "$" && text[i + 1] === "{") {
      const end = text.indexOf("}", i + 2);
      if (end < 0) return { problem: "missing closing }", token: text.slice(i) };
      const inner = text.slice(i + 2, end).trim();
      if (buf) parts.push({ kind: "text", text: buf });
      buf = "";
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z][A-Za-z0-9_-]*))?$/.exec(inner) ?? /^([a-z][a-z0-9-]*)\.([A-Za-z][A-Za-z0-9_]*)$/.exec(inner);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: blueprint interpolation syntax, not a JS template
      if (!m) return { problem: inner ? "expected VAR or name.property" : "empty ${}", token: text.slice(i, end + 1) };
      if (m[2] === undefined) parts.push({ kind: "var", key: m[1]! });
      // target is resolved by the caller; "service" is a placeholder until then.
      else parts.push({ kind: "ref", target: "service", name: m[1]!, property: m[2] });
      i = end + 1;
    } else {
      buf += ch;
      i++;
    }
  }
  if (buf) parts.push({ kind: "text", text: buf });
  return { parts };
}

/** Normalizes one env map; reports bad sources and unknown references. */
export function normalizeEnv(raw: Readonly<Record<string, RawEnvValue>> | undefined, path: Path, idx: NameIndex, out: Reporter): EnvMap {
  const env: Record<string, EnvSource> = {};
  for (const [key, value] of Object.entries(raw ?? {})) {
    const source = normalizeValue(key, value, [...path, key], idx, out);
    if (source) env[key] = source;
  }
  return env;
}

function normalizeValue(key: string, value: RawEnvValue, path: Path, idx: NameIndex, out: Reporter): EnvSource | undefined {
  if (typeof value !== "object") return literalOrTemplate(String(value), path, idx, out);
  const present = SOURCE_KEYS.filter((k) => value[k] !== undefined);
  if (present.length !== 1) {
    const detail = present.length === 0 ? "names no source" : `names ${present.length} sources (${present.join(", ")})`;
    out.error("BERTH_BLUEPRINT_BAD_VALUE", { field: formatPath(path), detail, suggestion: `Use exactly one of: ${SOURCE_KEYS.join(", ")}.` }, path);
    return undefined;
  }
  const which = present[0]!;
  const v = value[which];
  switch (which) {
    case "value":
      return { kind: "literal", value: String(v) };
    case "generate":
      return { kind: "generate", encoding: v === true ? "secret" : (v as "secret"), lengthBytes: typeof value.length === "number" ? value.length : 32 };
    case "secret":
      return typeof value.description === "string" ? { kind: "secret", description: value.description } : { kind: "secret" };
    case "fromGroup": {
      const name = typeof v === "string" ? v.split(".")[0]! : String((v as { name: string }).name);
      const groupKey = typeof v === "string" ? (v.includes(".") ? v.slice(v.indexOf(".") + 1) : key) : ((v as { key?: string }).key ?? key);
      const group = idx.groups.get(name);
      if (!group) {
        out.error("BERTH_BLUEPRINT_UNKNOWN_REFERENCE", { field: formatPath(path), kind: "env group", name, suggestion: suggest(name, [...idx.groups.keys()], "Defined groups") }, [...path, which]);
        return undefined;
      }
      if (!group.has(groupKey)) {
        out.error("BERTH_BLUEPRINT_UNKNOWN_REFERENCE", { field: formatPath(path), kind: `variable of group '${name}'`, name: groupKey, suggestion: suggest(groupKey, [...group], "Its variables") }, [...path, which]);
        return undefined;
      }
      return { kind: "fromGroup", name, key: groupKey };
    }
    default: {
      const target: RefTarget = which === "fromDatabase" ? "database" : which === "fromKeyValue" ? "keyValue" : "service";
      const ref = typeof v === "string" ? { name: v.split(".")[0]!, property: v.includes(".") ? v.slice(v.indexOf(".") + 1) : undefined } : (v as { name: string; property?: string; envVarKey?: string });
      const refPath = [...path, which];
      const names = target === "database" ? idx.databases : target === "keyValue" ? idx.keyValues : idx.services;
      if (!names.has(ref.name)) {
        const elsewhere = targetOf(ref.name, idx);
        const hint = elsewhere ? `'${ref.name}' is a ${KIND_WORD[elsewhere]}: use from${elsewhere === "keyValue" ? "KeyValue" : elsewhere === "database" ? "Database" : "Service"}.` : suggest(ref.name, [...names], `Defined ${KIND_WORD[target]}s`);
        out.error("BERTH_BLUEPRINT_UNKNOWN_REFERENCE", { field: formatPath(path), kind: KIND_WORD[target], name: ref.name, suggestion: hint }, refPath);
        return undefined;
      }
      if ("envVarKey" in ref && ref.envVarKey) return { kind: "fromServiceEnv", name: ref.name, envVarKey: ref.envVarKey };
      const property = checkProperty(target, ref.name, ref.property ?? DEFAULT_PROP[target], path, refPath, out);
      if (!property) return undefined;
      return target === "database" ? { kind: "fromDatabase", name: ref.name, property } : target === "keyValue" ? { kind: "fromKeyValue", name: ref.name, property } : { kind: "fromService", name: ref.name, property };
    }
  }
}

function checkProperty(target: RefTarget, name: string, property: string, path: Path, at: Path, out: Reporter): string | undefined {
  const props = PROPS[target];
  if (props.includes(property)) return target === "keyValue" && property === "connectionString" ? "url" : property;
  const near = suggest(property, props);
  const list = `Properties of a ${KIND_WORD[target]}: ${props.join(", ")}.`;
  out.error("BERTH_BLUEPRINT_UNKNOWN_PROPERTY", { field: formatPath(path), kind: KIND_WORD[target], name, property, suggestion: near.startsWith("Did") ? `${near} ${list}` : list }, at);
  return undefined;
}

function literalOrTemplate(text: string, path: Path, idx: NameIndex, out: Reporter): EnvSource | undefined {
  if (!text.includes("$")) return { kind: "literal", value: text };
  const parsed = parseTemplate(text);
  if ("problem" in parsed) {
    out.error("BERTH_BLUEPRINT_BAD_INTERPOLATION", { field: formatPath(path), received: parsed.token, detail: parsed.problem }, path);
    return undefined;
  }
  if (!parsed.parts.some((p) => p.kind !== "text")) return { kind: "literal", value: parsed.parts.map((p) => (p.kind === "text" ? p.text : "")).join("") };
  const parts: TemplatePart[] = [];
  for (const part of parsed.parts) {
    if (part.kind !== "ref") {
      parts.push(part);
      continue;
    }
    const target = targetOf(part.name, idx);
    if (!target) {
      out.error("BERTH_BLUEPRINT_UNKNOWN_REFERENCE", { field: formatPath(path), kind: "service, database or key-value store", name: part.name, suggestion: suggest(part.name, allNames(idx), "Defined names") }, path);
      return undefined;
    }
    const property = checkProperty(target, part.name, part.property, path, path, out);
    if (!property) return undefined;
    parts.push({ kind: "ref", target, name: part.name, property });
  }
  return { kind: "interpolated", template: text, parts };
}
