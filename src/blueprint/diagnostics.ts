/**
 * Located diagnostics: every problem the parser finds, as data. Messages and hints come from the
 * error catalogue (src/core/errors/blueprint.ts) so codes, wording and docs stay in one place.
 */
import { catalogue, type ErrorCode, type ErrorParams, renderTemplate } from "../core/errors.ts";

export type Path = readonly (string | number)[];

/** One error or warning, pointing at a line and column (1-based) of the file. */
export interface Diagnostic {
  readonly code: ErrorCode;
  readonly message: string;
  readonly hint: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Field path from the document root, e.g. ["services", "api", "health", "timeout"]. */
  readonly path: (string | number)[];
}

/** Where a path sits in the source; resolved by the YAML layer. */
export interface Location {
  readonly line: number;
  readonly column: number;
}

/** Finds the source location of a field path (the key when `onKey`, else the value). */
export type Locator = (path: Path, onKey?: boolean) => Location;

/** Builds a diagnostic from a catalogue code, rendering message and hint with the params. */
export function makeDiagnostic(code: ErrorCode, params: ErrorParams, file: string, path: Path, at: Location): Diagnostic {
  const spec = catalogue[code];
  return {
    code,
    message: renderTemplate(spec.message, params),
    hint: renderTemplate(spec.hint, params),
    file,
    line: at.line,
    column: at.column,
    path: [...path],
  };
}

/** A collector handed to each stage; stages only report, they never throw for bad input. */
export class Reporter {
  readonly errors: Diagnostic[] = [];
  readonly warnings: Diagnostic[] = [];
  readonly file: string;
  readonly locate: Locator;

  constructor(file: string, locate: Locator) {
    this.file = file;
    this.locate = locate;
  }

  error(code: ErrorCode, params: ErrorParams, path: Path, onKey = false): void {
    this.errors.push(makeDiagnostic(code, params, this.file, path, this.locate(path, onKey)));
  }

  warn(code: ErrorCode, params: ErrorParams, path: Path, onKey = false): void {
    this.warnings.push(makeDiagnostic(code, params, this.file, path, this.locate(path, onKey)));
  }
}

/** Renders a field path the way users write it: services.api.health.timeout, disks[0]. */
export function formatPath(path: Path): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out || "the blueprint";
}

/** Levenshtein distance, small and allocation-light: names are short. */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate to a misspelled name, if it is close enough to be a plausible typo. */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const cl = c.toLowerCase();
    // Case slips and prefixes (`healthcheck` for `health`) are typos too, not just edits.
    const score = cl === lower ? 0 : cl.startsWith(lower) || lower.startsWith(cl) ? 1.5 : editDistance(lower, cl);
    if (score < bestScore) {
      bestScore = score;
      best = c;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(2, Math.floor(Math.max(word.length, best.length) / 3));
  return bestScore <= limit ? best : undefined;
}

/** "Did you mean 'x'?" or the list of valid names when nothing is close. */
export function suggest(word: string, candidates: readonly string[], what = "Valid names"): string {
  const near = nearest(word, candidates);
  if (near) return `Did you mean '${near}'?`;
  if (candidates.length === 0) return "Remove it.";
  const shown = candidates.slice(0, 12).join(", ");
  return `${what}: ${shown}${candidates.length > 12 ? ", ..." : ""}.`;
}
