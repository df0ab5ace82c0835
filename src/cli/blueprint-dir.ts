/**
 * A stack's directory as the CLI reads it: its berth.yaml, checked locally so mistakes show
 * before anything starts. A directory holding only another platform's file (render.yaml, ...)
 * gets the exact import command to run instead of a bare "not found".
 */
import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseBlueprint } from "../blueprint/index.ts";
import { BerthError } from "../core/errors.ts";

/** Files `berth import` converts, in the order they are suggested. */
const IMPORTABLE = ["render.yaml", "render.yml", "railway.toml", "railway.json", "app.json", "Procfile", "docker-compose.yml", "docker-compose.yaml", "compose.yaml", "compose.yml"];

/** A path as the user would type it from the current directory. */
export function shown(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  return rel === "" ? "." : rel.startsWith("..") && rel.split("/").length > 3 ? path : rel;
}

export interface DirBlueprint {
  readonly file: string;
  readonly text: string;
  readonly project: string;
}

/** Reads and checks `<dir>/berth.yaml`. */
export function readBlueprint(dir: string): DirBlueprint {
  const file = join(dir, "berth.yaml");
  if (!existsSync(file)) {
    const other = IMPORTABLE.find((name) => existsSync(join(dir, name)));
    if (other) throw new BerthError("BERTH_CLI_BLUEPRINT_IMPORTABLE", { dir: shown(dir), file: shown(join(dir, other)), output: shown(file) });
    throw new BerthError("BERTH_BLUEPRINT_NOT_FOUND", { path: file });
  }
  const text = readFileSync(file, "utf8");
  const parsed = parseBlueprint(text, { file });
  if (!parsed.ok) {
    throw new BerthError("BERTH_BLUEPRINT_INVALID", { file, count: parsed.errors.length }, { details: parsed.errors });
  }
  return { file, text, project: parsed.blueprint.project };
}
