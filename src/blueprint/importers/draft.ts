/**
 * What every importer builds: a berth.yaml document as plain data, comments attached to field
 * paths, and warnings for whatever maps only approximately. Importers never throw for odd
 * input; they note it and move on.
 */
import type { Diagnostic, Location, Path } from "../diagnostics.ts";
import { makeDiagnostic } from "../diagnostics.ts";
import { slug } from "../issues.ts";

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

export class Draft {
  readonly doc: Obj;
  readonly comments: { path: Path; text: string }[] = [];
  readonly warnings: Diagnostic[] = [];
  readonly header: string[] = [];
  readonly file: string;
  readonly locate: (path: Path) => Location;
  /** Original resource names -> Berth names, shared by services, databases and key-value stores. */
  readonly names = new Map<string, string>();

  constructor(file: string, project: string, locate: (path: Path) => Location = () => ({ line: 1, column: 1 })) {
    this.file = file;
    this.locate = locate;
    this.doc = { version: 1, project: slug(project) };
  }

  /** Sets a value at a path, creating maps on the way. */
  set(path: Path, value: unknown, comment?: string): void {
    if (value === undefined) return;
    let node = this.doc;
    for (const part of path.slice(0, -1)) {
      const key = String(part);
      if (!isObj(node[key])) node[key] = {};
      node = node[key] as Obj;
    }
    node[String(path[path.length - 1])] = value;
    if (comment) this.comment(path, comment);
  }

  get(path: Path): unknown {
    let node: unknown = this.doc;
    for (const p of path) node = isObj(node) ? node[String(p)] : undefined;
    return node;
  }

  comment(path: Path, text: string): void {
    this.comments.push({ path, text });
  }

  /** An approximate mapping: a warning located in the source and a comment in the output. */
  approx(sourcePath: Path, detail: string, suggestion: string, outPath?: Path): void {
    this.warnings.push(makeDiagnostic("BERTH_BLUEPRINT_IMPORT_APPROXIMATE", { field: sourcePath.join(".") || this.file, detail, suggestion }, this.file, sourcePath, this.locate(sourcePath)));
    if (outPath) this.comment(outPath, `approx: ${detail}. ${suggestion}`);
  }

  /** A Berth-valid name for a resource, unique across services, databases and key-value stores. */
  nameFor(original: string, kind: "service" | "database" | "keyValue"): string {
    const key = `${kind}:${original}`;
    const known = this.names.get(key);
    if (known) return known;
    let name = slug(original);
    const taken = new Set(this.names.values());
    if (taken.has(name)) name = slug(`${name}-${kind === "keyValue" ? "kv" : kind === "database" ? "db" : "svc"}`);
    for (let i = 2; taken.has(name); i++) name = slug(`${original}-${i}`);
    this.names.set(key, name);
    return name;
  }

  /** Looks up a name registered with nameFor, trying the kinds in order. */
  lookup(original: string, kinds: readonly ("service" | "database" | "keyValue")[]): string | undefined {
    for (const k of kinds) {
      const n = this.names.get(`${k}:${original}`);
      if (n) return n;
    }
    return undefined;
  }
}

/** Literal env values: a `${` that the source meant literally is escaped so Berth does not interpolate it. */
export function literal(value: unknown): string | number | boolean {
  if (typeof value === "number" || typeof value === "boolean") return value;
  const s = value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);
  return s.includes("${") || s.includes("$$") ? s.replace(/\$/g, "$$$$") : s;
}

export const ENV_KEY_OK = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** A domain Berth accepts, or undefined. */
export function domainOk(d: unknown): d is string {
  return typeof d === "string" && /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i.test(d);
}
