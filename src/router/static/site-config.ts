/**
 * The configuration of a static site, as the static server receives it (JSON in an argument or
 * file), parsed by a schema. Mirrors Render's static-site `headers` and `routes`.
 */
import { z } from "zod";

const pattern = z.string().startsWith("/");

export const staticSiteConfigSchema = z.object({
  /** Serve `index.html` for unknown paths that look like pages (single-page apps). */
  spa: z.boolean().default(false),
  headers: z.array(z.object({ path: pattern, name: z.string().regex(/^[A-Za-z0-9-]+$/), value: z.string() })).default([]),
  routes: z
    .array(
      z.discriminatedUnion("type", [
        z.object({ type: z.literal("redirect"), source: pattern, destination: z.string().min(1), status: z.union([z.literal(301), z.literal(302), z.literal(307), z.literal(308)]).default(301) }),
        z.object({ type: z.literal("rewrite"), source: pattern, destination: pattern }),
      ]),
    )
    .default([]),
});

export type StaticSiteConfig = z.infer<typeof staticSiteConfigSchema>;

/** A compiled `source` pattern: `*` matches the rest, `:name` one segment. */
export interface PathPattern {
  readonly regex: RegExp;
  readonly names: readonly string[];
}

export function compilePattern(source: string): PathPattern {
  const names: string[] = [];
  let re = "";
  for (const part of source.split(/(\*|:[A-Za-z_][A-Za-z0-9_]*)/)) {
    if (part === "*") {
      names.push("*");
      re += "(.*)";
    } else if (part.startsWith(":") && part.length > 1) {
      names.push(part.slice(1));
      re += "([^/]+)";
    } else {
      re += part.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
    }
  }
  return { regex: new RegExp(`^${re}$`), names };
}

/** Matches a path; returns captured values by name (`*` for the wildcard), or undefined. */
export function matchPattern(p: PathPattern, path: string): Record<string, string> | undefined {
  const m = p.regex.exec(path);
  if (!m) return undefined;
  return Object.fromEntries(p.names.map((n, i) => [n, m[i + 1] ?? ""]));
}

/** Fills `*` and `:name` in a destination from the captured values. */
export function fillDestination(destination: string, params: Record<string, string>): string {
  return destination.replace(/\*|:([A-Za-z_][A-Za-z0-9_]*)/g, (whole, name: string | undefined) => {
    const key = name ?? "*";
    return key in params ? params[key]! : whole;
  });
}
