/**
 * Masks secret values wherever text leaves Berth: logs, build output, events, API responses,
 * error messages. Built from the current set of secret values (stored and generated); rebuilt
 * when that set changes (it is immutable, so a rebuild is a swap).
 *
 * Each value is matched in the forms it commonly takes in output: as is, URL-encoded (path and
 * form style), JSON-escaped, and base64/base64url (standalone, and embedded at any alignment as
 * in `Basic base64(user:password)`). A multi-line value (a PEM key) also matches line by line, so
 * line-oriented logs are safe. Values shorter than `minLength` cannot be masked without masking
 * ordinary text; they are reported in `skipped` so the caller can warn.
 */

export interface NamedValue {
  readonly name: string;
  readonly value: string;
}

export interface RedactorOptions {
  /** Values shorter than this are not masked (and listed in `skipped`). Default 4. */
  readonly minLength?: number;
  /** The replacement text. Default `[redacted:NAME]`. */
  readonly mask?: (name: string) => string;
}

const DEFAULT_MIN_LENGTH = 4;
/** Embedded base64 fragments shorter than this would match too much unrelated text. */
const MIN_B64_FRAGMENT = 8;

export class Redactor {
  /** Names whose values are too short to mask safely. */
  readonly skipped: readonly string[];
  /** Length of the longest pattern: how much a stream must hold back. */
  readonly maxPatternLength: number;
  readonly #re: RegExp | undefined;
  readonly #names: ReadonlyMap<string, string>;
  readonly #mask: (name: string) => string;

  constructor(values: Iterable<NamedValue>, options: RedactorOptions = {}) {
    const minLength = options.minLength ?? DEFAULT_MIN_LENGTH;
    this.#mask = options.mask ?? ((name) => `[redacted:${name}]`);
    const names = new Map<string, string>();
    const skipped = new Set<string>();
    for (const { name, value } of values) {
      if (value.length === 0) continue;
      if (value.length < minLength) {
        skipped.add(name);
        continue;
      }
      for (const p of variants(value, minLength)) if (!names.has(p)) names.set(p, name);
    }
    this.#names = names;
    this.skipped = [...skipped].sort();
    const patterns = [...names.keys()].sort((a, b) => b.length - a.length);
    this.maxPatternLength = patterns[0]?.length ?? 0;
    this.#re = patterns.length > 0 ? new RegExp(patterns.map(escapeRegExp).join("|"), "g") : undefined;
  }

  /** A redactor that masks nothing. */
  static readonly none = new Redactor([]);

  /** Masks every occurrence in `text`. */
  redact(text: string): string {
    if (!this.#re || text.length === 0) return text;
    return text.replace(this.#re, (m) => this.#mask(this.#names.get(m) ?? "secret"));
  }

  /** Masks every string (and key) inside a JSON-like value: events, API bodies, error details. */
  redactDeep<T>(value: T): T {
    if (!this.#re) return value;
    return this.#deep(value) as T;
  }

  /** A stateful redactor for text arriving in arbitrary chunks (a value may be split). */
  stream(): StreamRedactor {
    return new StreamRedactor(this);
  }

  /** Match positions in `text` (start, end), for the stream redactor. */
  matches(text: string): { start: number; end: number; name: string }[] {
    if (!this.#re) return [];
    const out: { start: number; end: number; name: string }[] = [];
    for (const m of text.matchAll(this.#re)) out.push({ start: m.index, end: m.index + m[0].length, name: this.#names.get(m[0]) ?? "secret" });
    return out;
  }

  maskFor(name: string): string {
    return this.#mask(name);
  }

  #deep(v: unknown): unknown {
    if (typeof v === "string") return this.redact(v);
    if (Array.isArray(v)) return v.map((x) => this.#deep(x));
    if (v && typeof v === "object" && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [this.redact(k), this.#deep(x)]));
    }
    return v;
  }
}

/**
 * Redacts a chunked stream: holds back the last `maxPatternLength - 1` characters (a value may
 * continue in the next chunk) and emits everything before them, masked. `end()` flushes.
 */
export class StreamRedactor {
  readonly #r: Redactor;
  #pending = "";
  constructor(redactor: Redactor) {
    this.#r = redactor;
  }

  write(chunk: string): string {
    const text = this.#pending + chunk;
    const hold = Math.max(0, this.#r.maxPatternLength - 1);
    let safe = text.length - hold;
    if (safe <= 0) {
      this.#pending = text;
      return "";
    }
    // A match starting before `safe` is complete in `text` (no pattern is longer than hold + 1);
    // emit through its end. Matches starting at or after `safe` wait for more input.
    let out = "";
    let at = 0;
    for (const m of this.#r.matches(text)) {
      if (m.start >= safe) break;
      out += text.slice(at, m.start) + this.#r.maskFor(m.name);
      at = m.end;
      if (m.end > safe) safe = m.end;
    }
    out += text.slice(at, safe);
    this.#pending = text.slice(safe);
    return out;
  }

  end(): string {
    const rest = this.#r.redact(this.#pending);
    this.#pending = "";
    return rest;
  }
}

/** The forms a value takes in output, each at least `minLength` long. */
function variants(value: string, minLength: number): Set<string> {
  const out = new Set<string>();
  const add = (s: string, min = minLength) => {
    if (s.length >= min) out.add(s);
  };
  const forms = [value];
  if (value.includes("\n")) forms.push(...value.split(/\r?\n/).map((l) => l.trim()));
  for (const f of forms) {
    if (f.length < minLength) continue;
    add(f);
    const uri = encodeURIComponent(f);
    add(uri);
    add(uri.replace(/%20/g, "+"));
    add(uri.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase())); // some encoders use lower-case hex
    add(encodeURI(f));
    add(JSON.stringify(f).slice(1, -1));
  }
  // base64 of the whole value, standalone and at each alignment inside a longer base64 text.
  const bytes = Buffer.from(value, "utf8");
  const std = bytes.toString("base64");
  add(std);
  add(std.replace(/=+$/, ""));
  add(bytes.toString("base64url"));
  for (let k = 0; k < 3; k++) {
    const shifted = Buffer.concat([Buffer.alloc(k), bytes]).toString("base64");
    const fullGroups = Math.floor((k + bytes.length) / 3);
    const fragment = shifted.slice(k === 0 ? 0 : 4, fullGroups * 4);
    add(fragment, Math.max(MIN_B64_FRAGMENT, minLength));
    add(fragment.replace(/\+/g, "-").replace(/\//g, "_"), Math.max(MIN_B64_FRAGMENT, minLength));
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}
