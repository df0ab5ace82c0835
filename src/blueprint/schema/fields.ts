/**
 * Field types shared by the schema: durations, sizes, percentages, cron expressions, names.
 * Each is registered with a `kind` so a failed check becomes a specific diagnostic (bad duration,
 * bad size, ...) with its own hint instead of a generic "invalid input".
 */
import { Cron } from "croner";
import { z } from "zod";
import { parseDurationMs, parseSizeBytes } from "../../core/units.ts";
import { headerNameProblem, headerValueProblem, hostnameProblem, mountPathProblem, relativePathProblem, targetProblem, urlPathProblem } from "./safe-text.ts";

export type FieldKind =
  | "duration"
  | "size"
  | "percent"
  | "cron"
  | "timezone"
  | "name"
  | "version"
  | "envKey"
  | "secretRef"
  | TextKind;

/** Text fields that reach a rendered file: each has a check saying what is wrong (safe-text.ts). */
export type TextKind = "urlPath" | "urlGlob" | "hostname" | "domain" | "relativePath" | "mountPath" | "target" | "headerName" | "headerValue";

/** Why a text field's value is refused, by kind; undefined when it is fine. */
export const textProblem: Record<TextKind, (value: string) => string | undefined> = {
  urlPath: (v) => urlPathProblem(v),
  urlGlob: (v) => urlPathProblem(v, { glob: true }),
  hostname: (v) => hostnameProblem(v),
  domain: (v) => hostnameProblem(v, { wildcard: true }),
  relativePath: relativePathProblem,
  mountPath: mountPathProblem,
  target: targetProblem,
  headerName: headerNameProblem,
  headerValue: headerValueProblem,
};

/** What each text kind is called in diagnostics. */
export const textKindLabel: Record<TextKind, string> = {
  urlPath: "an HTTP path",
  urlGlob: "an HTTP path pattern",
  hostname: "a host name",
  domain: "a domain",
  relativePath: "a relative directory",
  mountPath: "a mount path",
  target: "a redirect target",
  headerName: "a header name",
  headerValue: "a header value",
};

/** Schema instance -> the kind of value it checks (looked up when an issue is reported). */
export const fieldKinds = new WeakMap<z.ZodType, FieldKind>();

function register<T extends z.ZodType>(schema: T, kind: FieldKind): T {
  fieldKinds.set(schema, kind);
  return schema;
}

/** `30s`, `5m`, `7d`; a bare number means seconds. */
export function durationMs(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
  return parseDurationMs(value);
}

/** `256mb`, `1gb`; a bare number means bytes. */
export function sizeBytes(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
  return parseSizeBytes(value);
}

/** `70%` or `70`, 1..100. */
export function percent(value: string | number): number | undefined {
  const n = typeof value === "number" ? value : /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(value)?.[1];
  const num = Number(n);
  return n !== undefined && Number.isFinite(num) && num > 0 && num <= 100 ? num : undefined;
}

/** Returns why a cron expression is invalid, or undefined when croner accepts it. */
export function cronProblem(expr: string): string | undefined {
  // Blueprints repeat a handful of schedules many times; croner's parse is the costly part.
  if (cronCache.has(expr)) return cronCache.get(expr);
  let problem: string | undefined;
  try {
    new Cron(expr, { paused: true }).stop();
  } catch (e) {
    problem = (e instanceof Error ? e.message : String(e)).replace(/^Cron\w*:\s*/, "");
  }
  if (cronCache.size > 1000) cronCache.clear();
  cronCache.set(expr, problem);
  return problem;
}
const cronCache = new Map<string, string | undefined>();

export function isTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Service, database, group and project names: usable in hostnames and references. */
export const NAME = /^[a-z][a-z0-9-]{0,39}$/;
export const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export const duration = (description: string) =>
  register(
    z.union([z.number(), z.string()]).refine((v) => durationMs(v) !== undefined, { params: { berth: "duration" } }).describe(`${description} Duration: 500ms, 30s, 5m, 2h, 7d (a bare number means seconds).`),
    "duration",
  );

export const size = (description: string) =>
  register(
    z.union([z.number(), z.string()]).refine((v) => sizeBytes(v) !== undefined, { params: { berth: "size" } }).describe(`${description} Size: 512kb, 256mb, 1gb (a bare number means bytes).`),
    "size",
  );

export const percentage = (description: string) =>
  register(
    z.union([z.number(), z.string()]).refine((v) => percent(v) !== undefined, { params: { berth: "percent" } }).describe(`${description} Percentage, e.g. 70%.`),
    "percent",
  );

export const cron = (description: string) =>
  register(z.string().refine((v) => cronProblem(v) === undefined, { params: { berth: "cron" } }).describe(description), "cron");

export const timezone = (description: string) =>
  register(z.string().refine(isTimezone, { params: { berth: "timezone" } }).describe(description), "timezone");

export const name = (description: string) =>
  register(z.string().regex(NAME).describe(`${description} Lowercase letters, digits and dashes.`), "name");

export const command = (description: string) => z.string().min(1).describe(description);

/** A string checked by `textProblem[kind]`; failures become BERTH_BLUEPRINT_BAD_TEXT with the reason. */
export const text = (kind: TextKind, description: string) =>
  register(z.string().refine((v) => textProblem[kind](v) === undefined, { params: { berth: kind } }).describe(description), kind);

/**
 * A credential read from the secret store when it is used (alert channels, issue 18):
 * `{ fromGroup: group.KEY }` names a `{ secret: true }` variable of an env group, whose value is
 * set with `berth secret set --group group KEY=-`. Only the reference is accepted: a literal here
 * is reported as BERTH_BLUEPRINT_LITERAL_SECRET, without echoing it (issues.ts).
 */
export const secretRef = (description: string) =>
  register(
    z
      .strictObject({
        fromGroup: z
          .union([
            z.string().describe("`group.KEY`"),
            z.strictObject({ name: z.string().describe("Name of the env group."), key: z.string().describe("The variable of the group (declared `{ secret: true }`).") }),
          ])
          .describe("A `{ secret: true }` variable of an env group: `group.KEY`, or `{ name, key }`."),
      })
      .describe(`${description} A secret: write \`{ fromGroup: group.KEY }\` and set the value with \`berth secret set --group group KEY=-\`; a literal value is refused.`),
    "secretRef",
  );

/** Sanity bound on instance counts (quotas per project are checked at sync). */
export const MAX_REPLICAS = 1000;

export const posInt = (description: string) => z.number().int().min(0).describe(description);

/** Registers a record whose keys must be valid names (services, databases, groups, environments). */
export const nameKey = register(z.string().regex(NAME), "name");
export const envKey = register(z.string().regex(ENV_KEY), "envKey");
