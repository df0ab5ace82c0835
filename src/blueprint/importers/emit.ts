/** Renders a Draft as a commented berth.yaml, then validates it with the real parser. */
import { Document, isMap, isPair, isScalar, type Pair, visit, type YAMLMap } from "yaml";
import type { Diagnostic } from "../diagnostics.ts";
import { type ParseResult, parseBlueprint } from "../parse.ts";
import type { Draft } from "./draft.ts";

export interface ImportResult {
  /** The berth.yaml text, with comments explaining what was approximated. */
  readonly yaml: string;
  /** Approximations and things left out, located in the source file. */
  readonly warnings: readonly Diagnostic[];
  /** The output run through parseBlueprint: whether it validates as is. */
  readonly validation: ParseResult;
}

function pairAt(doc: Document, path: readonly (string | number)[]): Pair | undefined {
  let node: unknown = doc.contents;
  let pair: Pair | undefined;
  for (const part of path) {
    if (!isMap(node)) return undefined;
    pair = (node as YAMLMap).items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(part)) as Pair | undefined;
    if (!pair) return undefined;
    node = pair.value;
  }
  return pair;
}

const ORDER = ["version", "project", "services", "databases", "keyValues", "envGroups", "environments", "previews"];

export function emit(draft: Draft, outFile = "berth.yaml"): ImportResult {
  const ordered: Record<string, unknown> = {};
  for (const k of ORDER) if (draft.doc[k] !== undefined) ordered[k] = draft.doc[k];
  const doc = new Document(ordered);
  // Small leaf maps read better inline: `DATABASE_URL: { fromDatabase: db.connectionString }`.
  visit(doc, {
    Map(_, node, path) {
      if (path.length > 4 && node.items.length <= 3 && node.items.every((p) => isScalar(p.value))) node.flow = true;
    },
  });
  const header = [...draft.header, "Check it with `berth validate`; `berth schema` prints the JSON Schema for editor completion."];
  doc.commentBefore = header.map((l) => ` ${l}`).join("\n");
  for (const c of draft.comments) {
    const pair = pairAt(doc, c.path);
    if (pair && isScalar(pair.key)) {
      const prev = pair.key.commentBefore;
      const text = ` ${c.text.replace(/\n/g, " ")}`;
      if (!prev?.includes(text)) pair.key.commentBefore = prev ? `${prev}\n${text}` : text;
    }
  }
  const yaml = doc.toString({ lineWidth: 0 });
  return { yaml, warnings: draft.warnings, validation: parseBlueprint(yaml, { file: outFile }) };
}
