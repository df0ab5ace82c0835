/**
 * Renders docs/errors.md from the catalogue, so the documentation can never drift: a test
 * compares the committed file with this output, and `npm run docs:gen` rewrites it.
 */
import { catalogue } from "./errors.ts";

export function renderErrorsDoc(): string {
  const lines = [
    "# Error codes",
    "",
    "Generated from `src/core/errors/` by `npm run docs:gen`; do not edit by hand.",
    "Every error Berth reports carries one of these stable codes. `{name}` marks a value filled in",
    "at the time of the error.",
    "",
    "| code | HTTP | exit | message | what to do |",
    "|---|---|---|---|---|",
  ];
  const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  for (const code of Object.keys(catalogue).sort()) {
    const spec = catalogue[code as keyof typeof catalogue];
    lines.push(`| \`${code}\` | ${spec.http} | ${spec.exit} | ${esc(spec.message)} | ${esc(spec.hint)} |`);
  }
  return `${lines.join("\n")}\n`;
}
