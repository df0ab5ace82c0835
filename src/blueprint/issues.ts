/**
 * Stage 2 reporting: turns zod issues into located, hinted diagnostics. The schema is walked
 * alongside the data to learn which keys were valid where (for "did you mean") and what kind of
 * value a field holds (duration, size, cron, ...).
 */
import type { z } from "zod";
import { secretStoreHowTo, suggestedSecret } from "./alerts.ts";
import { formatPath, type Path, type Reporter, suggest } from "./diagnostics.ts";
import { cronProblem, type FieldKind, fieldKinds, type TextKind, textKindLabel, textProblem } from "./schema/fields.ts";
import { serviceKeysByType } from "./schema/service.ts";

// zod's internal definition objects, typed just enough to walk them.
interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
  element?: z.ZodType;
  innerType?: z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
  in?: z.ZodType;
  values?: unknown[];
}
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Unwraps optional/default/nullable/pipe layers. */
function unwrap(s: z.ZodType): z.ZodType {
  let cur = s;
  for (let i = 0; i < 20; i++) {
    const d = defOf(cur);
    if ((d.type === "optional" || d.type === "default" || d.type === "nullable" || d.type === "prefault") && d.innerType) cur = d.innerType;
    else if (d.type === "pipe" && d.in) cur = d.in;
    else break;
  }
  return cur;
}

/** Picks the union option that fits the data (by discriminator, else the object option for objects). */
function pickOption(s: z.ZodType, data: unknown): z.ZodType | undefined {
  const d = defOf(s);
  const opts = d.options ?? [];
  if (d.discriminator && data && typeof data === "object") {
    const want = (data as Record<string, unknown>)[d.discriminator];
    return opts.find((o) => {
      const shape = defOf(unwrap(o)).shape;
      const lit = shape?.[d.discriminator!];
      return lit !== undefined && defOf(unwrap(lit)).values?.includes(want);
    });
  }
  const isObj = data !== null && typeof data === "object" && !Array.isArray(data);
  return opts.find((o) => {
    const t = defOf(unwrap(o)).type;
    return isObj ? t === "object" || t === "record" : Array.isArray(data) ? t === "array" : t !== "object" && t !== "record";
  });
}

/** The schema that applies at `path`, following the data through unions. */
export function schemaAt(root: z.ZodType, data: unknown, path: Path): z.ZodType | undefined {
  let s: z.ZodType | undefined = unwrap(root);
  let value = data;
  for (const part of path) {
    if (!s) return undefined;
    s = descend(s, value, part);
    value = value && typeof value === "object" ? (value as Record<string | number, unknown>)[part] : undefined;
  }
  return s;
}

function descend(s: z.ZodType, value: unknown, part: string | number): z.ZodType | undefined {
  let cur = unwrap(s);
  if (defOf(cur).type === "union") {
    const o = pickOption(cur, value);
    if (!o) return undefined;
    cur = unwrap(o);
  }
  const d = defOf(cur);
  if (d.type === "object") return d.shape?.[String(part)] ? unwrap(d.shape[String(part)]!) : undefined;
  if (d.type === "record") return d.valueType ? unwrap(d.valueType) : undefined;
  if (d.type === "array") return d.element ? unwrap(d.element) : undefined;
  return undefined;
}

/** Valid keys of the object schema at `path`, resolving unions against the data. */
function keysAt(root: z.ZodType, data: unknown, path: Path): string[] {
  let s = schemaAt(root, data, path);
  if (!s) return [];
  const value = valueAt(data, path);
  if (defOf(s).type === "union") s = pickOption(s, value) && unwrap(pickOption(s, value)!);
  return s ? Object.keys(defOf(s).shape ?? {}) : [];
}

export function valueAt(data: unknown, path: Path): unknown {
  let v = data;
  for (const p of path) v = v && typeof v === "object" ? (v as Record<string | number, unknown>)[p] : undefined;
  return v;
}

function kindAt(root: z.ZodType, data: unknown, path: Path): FieldKind | undefined {
  const s = schemaAt(root, data, path);
  return s ? fieldKinds.get(s) : undefined;
}

const describeValue = (v: unknown): string =>
  v === undefined ? "nothing" : v === null ? "null (empty)" : Array.isArray(v) ? "a list" : typeof v === "object" ? "a mapping" : `${typeof v} ${JSON.stringify(v)}`;

const show = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v) ?? String(v));

const EXPECTED: Record<string, string> = { object: "a mapping", record: "a mapping", array: "a list", string: "a string", number: "a number", boolean: "true or false" };

interface AnyIssue {
  code: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
  expected?: string;
  values?: unknown[];
  errors?: AnyIssue[][];
  params?: Record<string, unknown>;
  note?: string;
  format?: string;
  minimum?: number | bigint;
  maximum?: number | bigint;
  origin?: string;
  issues?: AnyIssue[];
}

/** Reports every zod issue as a diagnostic. `base` prefixes relative paths (nested union issues). */
export function reportIssues(issues: readonly AnyIssue[], root: z.ZodType, data: unknown, out: Reporter, base: Path = []): void {
  // A misspelled required key shows up twice (unknown + missing): keep only the unknown one.
  const typoTargets = new Set<string>();
  for (const issue of issues) {
    if (issue.code !== "unrecognized_keys") continue;
    const path = [...base, ...(issue.path as (string | number)[])];
    const valid = keysAt(root, data, path);
    for (const k of issue.keys ?? []) {
      const near = suggest(k, valid);
      if (near.startsWith("Did you mean")) typoTargets.add(`${formatPath(path)}>${near.slice(14, -2)}`);
    }
  }
  for (const issue of issues) reportOne(issue, root, data, out, base, typoTargets);
}

function reportOne(issue: AnyIssue, root: z.ZodType, data: unknown, out: Reporter, base: Path, typos: Set<string>): void {
  const path = [...base, ...(issue.path as (string | number)[])];
  const field = formatPath(path);
  const value = valueAt(data, path);
  const parentPath = path.slice(0, -1);
  const last = path[path.length - 1];
  switch (issue.code) {
    case "unrecognized_keys": {
      const valid = keysAt(root, data, path);
      for (const key of issue.keys ?? []) {
        const svcType = path.length === 2 && path[0] === "services" ? (value as { type?: unknown } | undefined)?.type : undefined;
        const owners = typeof svcType === "string" ? Object.entries(serviceKeysByType).filter(([, keys]) => keys.includes(key)).map(([t]) => t) : [];
        if (owners.length > 0) {
          out.error("BERTH_BLUEPRINT_FIELD_NOT_FOR_TYPE", { key, type: String(svcType), suggestion: `'${key}' applies to ${owners.join(", ")} services; remove it or change \`type\`.` }, [...path, key], true);
        } else {
          out.error("BERTH_BLUEPRINT_UNKNOWN_KEY", { key, where: field, suggestion: suggest(key, valid, "Valid fields") }, [...path, key], true);
        }
      }
      return;
    }
    case "invalid_type": {
      if (value === undefined && typeof last === "string") {
        if (typos.has(`${formatPath(parentPath)}>${last}`)) return;
        out.error("BERTH_BLUEPRINT_MISSING_FIELD", { key: last, where: formatPath(parentPath) }, parentPath, parentPath.length > 0);
        return;
      }
      if (kindAt(root, data, path) === "secretRef") {
        reportLiteralSecret(path, out);
        return;
      }
      const expected = EXPECTED[issue.expected ?? ""] ?? `a ${issue.expected}`;
      out.error("BERTH_BLUEPRINT_WRONG_TYPE", { field, expected, received: describeValue(value), suggestion: wrongTypeHint(issue.expected, value) }, path);
      return;
    }
    case "invalid_union": {
      if (issue.note === "No matching discriminator") {
        const d = (issue as { discriminator?: string }).discriminator ?? "type";
        const choices = ((issue as { options?: unknown[] }).options ?? []).map(String);
        const got = valueAt(data, [...path]);
        if (got === undefined) {
          out.error("BERTH_BLUEPRINT_MISSING_FIELD", { key: d, where: formatPath(path.slice(0, -1)) }, path.slice(0, -1), true);
        } else {
          out.error("BERTH_BLUEPRINT_BAD_CHOICE", { field, choices: choices.join(", "), received: show(got), suggestion: suggest(show(got), choices, "Choose one of") }, path);
        }
        return;
      }
      const kind = kindAt(root, data, path);
      if (kind) {
        reportKind(kind, field, value, path, out);
        return;
      }
      // Prefer the option whose failure is about the content rather than the value's type.
      const branches = issue.errors ?? [];
      const deep = branches.find((b) => b.some((i) => i.code !== "invalid_type" || i.path.length > 0));
      if (deep) {
        reportIssues(deep, root, data, out, path);
        return;
      }
      const expected = [...new Set(branches.flat().map((i) => EXPECTED[i.expected ?? ""] ?? i.expected))].join(" or ");
      const suggestion = value === null ? "The field is empty: write its value after the colon or indent its contents under it, or remove it." : `Write ${expected} here.`;
      out.error("BERTH_BLUEPRINT_WRONG_TYPE", { field, expected, received: describeValue(value), suggestion }, path);
      return;
    }
    case "invalid_value": {
      const choices = (issue.values ?? []).map(show);
      if (path.length === 1 && path[0] === "version" && value === undefined) {
        out.error("BERTH_BLUEPRINT_MISSING_FIELD", { key: "version", where: "the blueprint" }, []);
        return;
      }
      if (path.length === 1 && path[0] === "version") {
        out.error("BERTH_BLUEPRINT_UNSUPPORTED_VERSION", { received: show(value) }, path);
        return;
      }
      out.error("BERTH_BLUEPRINT_BAD_CHOICE", { field, choices: choices.join(", "), received: show(value), suggestion: suggest(show(value), choices, "Choose one of") }, path);
      return;
    }
    case "invalid_key": {
      const key = String(last);
      const kind = path[0] === "services" ? "service" : path[0] === "databases" ? "database" : path[0] === "keyValues" ? "key-value" : path[0] === "environments" ? "environment" : path[0] === "envGroups" && path.length === 2 ? "env group" : "variable";
      if (kind === "variable") {
        out.error("BERTH_BLUEPRINT_BAD_VALUE", { field, detail: `'${key}' is not a valid variable name`, suggestion: "Variable names use letters, digits and underscores and do not start with a digit." }, path, true);
      } else {
        out.error("BERTH_BLUEPRINT_BAD_NAME", { kind, name: key, suggestion: slug(key) }, path, true);
      }
      return;
    }
    case "custom": {
      const kind = issue.params?.berth as FieldKind | undefined;
      if (kind) {
        reportKind(kind, field, value, path, out);
        return;
      }
      out.error("BERTH_BLUEPRINT_BAD_VALUE", { field, detail: issue.message, suggestion: "See docs/blueprint.md for this field." }, path);
      return;
    }
    case "invalid_format": {
      const kind = kindAt(root, data, path);
      if (kind) {
        reportKind(kind, field, value, path, out);
        return;
      }
      const detail = issue.format === "starts_with" ? "must start with /" : `does not have the expected format (${issue.format})`;
      out.error("BERTH_BLUEPRINT_BAD_VALUE", { field, detail: `'${show(value)}' ${detail}`, suggestion: issue.format === "starts_with" ? `Write '/${show(value)}'.` : "See docs/blueprint.md for this field." }, path);
      return;
    }
    case "too_small":
    case "too_big": {
      const bound = issue.code === "too_small" ? `at least ${issue.minimum}` : `at most ${issue.maximum}`;
      const what = issue.origin === "string" ? `${bound} characters long` : issue.origin === "array" ? `${bound} items` : bound;
      out.error("BERTH_BLUEPRINT_BAD_VALUE", { field, detail: `must be ${what}, got ${show(value)}`, suggestion: `Use a value ${bound}.` }, path);
      return;
    }
    default:
      out.error("BERTH_BLUEPRINT_BAD_VALUE", { field, detail: issue.message, suggestion: "See docs/blueprint.md for this field." }, path);
  }
}

/** A value written where only a secret reference is accepted: said without repeating the value. */
function reportLiteralSecret(path: Path, out: Reporter): void {
  const field = formatPath(path);
  const { group, key } = suggestedSecret(path);
  const detail = "a credential may not be written in berth.yaml (it would sit unencrypted in the file, its git history and Berth's recorded desired state); it comes from the secret store";
  out.error("BERTH_BLUEPRINT_LITERAL_SECRET", { field, detail, suggestion: secretStoreHowTo(String(path.at(-1)), group, key) }, path);
}

function reportKind(kind: FieldKind, field: string, value: unknown, path: Path, out: Reporter): void {
  const received = show(value);
  switch (kind) {
    case "duration":
      out.error("BERTH_BLUEPRINT_BAD_DURATION", { field, received }, path);
      return;
    case "size":
      out.error("BERTH_BLUEPRINT_BAD_SIZE", { field, received }, path);
      return;
    case "percent":
      out.error("BERTH_BLUEPRINT_BAD_PERCENT", { field, received }, path);
      return;
    case "cron":
      out.error("BERTH_BLUEPRINT_BAD_CRON", { field, received, detail: typeof value === "string" ? (cronProblem(value) ?? "invalid") : "not a string" }, path);
      return;
    case "timezone":
      out.error("BERTH_BLUEPRINT_BAD_TIMEZONE", { field, received }, path);
      return;
    case "name":
      out.error("BERTH_BLUEPRINT_BAD_NAME", { kind: field, name: received, suggestion: slug(received) }, path);
      return;
    default:
      if (kind in textProblem) {
        const k = kind as TextKind;
        const detail = typeof value === "string" ? (textProblem[k](value) ?? "is invalid") : "is not a string";
        // JSON quoting keeps a newline or quote in the value from breaking the message itself.
        out.error("BERTH_BLUEPRINT_BAD_TEXT", { field, received: JSON.stringify(value) ?? String(value), what: textKindLabel[k], detail, suggestion: TEXT_HINTS[k] }, path);
        return;
      }
      out.error("BERTH_BLUEPRINT_BAD_VALUE", { field, detail: `'${received}' is not valid`, suggestion: "See docs/blueprint.md for this field." }, path);
      return;
  }
}

const TEXT_HINTS: Record<TextKind, string> = {
  urlPath: "Write a path such as /api/v1: letters, digits and - . _ ~ ! $ & ' ( ) * + , ; = : @ /; percent-encode anything else (%20 for a space, %23 for #).",
  urlGlob: "Write a path pattern such as /assets/*: path characters and *, anything else percent-encoded.",
  hostname: "Write a host name such as app.example.com: letters, digits, dashes and dots (RFC 1123); IDNs in their xn-- form.",
  domain: "Write a host name such as app.example.com (or *.example.com): letters, digits, dashes and dots; IDNs in their xn-- form.",
  relativePath: "Write a directory inside the repository, such as apps/api, without .. segments.",
  mountPath: "Write an absolute path such as /data or /var/data/uploads.",
  target: "Write a path such as /new-place, or a URL such as https://example.com/page, without spaces or control characters.",
  headerName: "Write a header name such as Cache-Control.",
  headerValue: "Write the value on one line, in printable ASCII.",
};

/** A valid name close to what the user wrote: `My_API` -> `my-api`. */
export function slug(text: string): string {
  const s = text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^[^a-z]+/, "").replace(/-+$/, "").slice(0, 40).replace(/-+$/, "");
  return s || "app";
}

function wrongTypeHint(expected: string | undefined, value: unknown): string {
  if (expected === "array" && (typeof value === "string" || typeof value === "number")) return `Write a list: [${show(value)}].`;
  if (expected === "number" && typeof value === "string" && /^\d+$/.test(value)) return `Remove the quotes: ${value}.`;
  if (expected === "boolean" && typeof value === "string") return "Write true or false without quotes.";
  if ((expected === "object" || expected === "record") && value === null) return "The field is empty: indent its contents under it, or remove it.";
  if ((expected === "object" || expected === "record") && Array.isArray(value)) return "Write `KEY: value` entries (a mapping), not a `- ` list.";
  if (expected === "string") return "Quote the value if YAML reads it as something else.";
  return `Write ${EXPECTED[expected ?? ""] ?? expected} here.`;
}
