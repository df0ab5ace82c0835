/**
 * Stage 1: YAML text -> plain data plus a locator that maps any field path back to a line and
 * column. Two parsers, one dialect (YAML 1.2 core schema): js-yaml builds the data fast, and the
 * `yaml` package (which keeps node ranges) is run only when a position is needed or js-yaml
 * refuses the input — then `yaml` is authoritative for both the errors and the data.
 */
import { load as fastLoad } from "js-yaml";
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { Location, Path } from "./diagnostics.ts";

export interface YamlProblem {
  /** The `yaml` package's error code (DUPLICATE_KEY, TAB_AS_INDENT, ...). */
  readonly code: string;
  readonly message: string;
  readonly at: Location;
}

export interface ParsedSource {
  /** The document as plain JS (maps -> objects, sequences -> arrays); undefined for an empty file. */
  readonly value: unknown;
  readonly errors: readonly YamlProblem[];
  /** Resolves a path to its key (onKey) or value position; unknown tails fall back to the nearest ancestor. */
  readonly locate: (path: Path, onKey?: boolean) => Location;
}

const START: Location = { line: 1, column: 1 };

/**
 * Parses YAML without throwing; syntax errors come back located. Anchors/aliases are refused by
 * the fast path (`maxAliases: 0`) so alias bombs always meet `yaml`'s alias limit.
 */
export function parseYamlSource(text: string): ParsedSource {
  let value: unknown;
  try {
    value = fastLoad(text, { maxAliases: 0, maxDepth: 100 });
  } catch {
    return parseLocated(text);
  }
  let located: ParsedSource | undefined;
  const locate = (path: Path, onKey?: boolean): Location => {
    located ??= parseLocated(text);
    return located.locate(path, onKey);
  };
  return { value, errors: [], locate };
}

/** The `yaml` package's document with node ranges: errors located, and a path locator. */
export function parseLocated(text: string): ParsedSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, strict: true });
  const pos = (offset: number): Location => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const errors: YamlProblem[] = doc.errors.map((e) => ({
    code: e.code,
    message: e.message.split("\n")[0]!,
    at: pos(e.pos[0]),
  }));
  let value: unknown;
  if (errors.length === 0) {
    try {
      // maxAliasCount guards against alias bombs ("billion laughs").
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      errors.push({ code: "TO_JS", message: e instanceof Error ? e.message : String(e), at: START });
    }
  }
  const locate = (path: Path, onKey = false): Location => {
    let node: unknown = doc.contents;
    let best: number | undefined = rangeStart(node);
    for (let i = 0; i < path.length; i++) {
      const part = path[i]!;
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(part));
        if (!pair) break;
        const keyStart = rangeStart(pair.key);
        if (last && onKey && keyStart !== undefined) return pos(keyStart);
        node = pair.value;
        // A key with an empty value (`health:`) has no value node: point at the key.
        best = rangeStart(node) ?? keyStart ?? best;
      } else if (isSeq(node) && typeof part === "number") {
        const item = node.items[part];
        if (item === undefined) break;
        node = item;
        best = rangeStart(node) ?? best;
      } else {
        break;
      }
    }
    return best === undefined ? START : pos(best);
  };
  return { value, errors, locate };
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return Array.isArray(range) ? range[0] : undefined;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === "string" ? key : undefined;
}
