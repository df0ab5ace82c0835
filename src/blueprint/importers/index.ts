/**
 * Importers: other platforms' files -> a commented berth.yaml. Lenient by design: odd input
 * becomes warnings and comments, never an exception.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { BerthError } from "../../core/errors.ts";
import { slug } from "../issues.ts";
import { importCompose } from "./compose.ts";
import { type ImportResult, emit } from "./emit.ts";
import { Draft } from "./draft.ts";
import { importHeroku } from "./heroku.ts";
import { importRailway } from "./railway.ts";
import { importRender } from "./render.ts";
import type { RepoFiles } from "./runtime-pins.ts";

export type { ImportResult } from "./emit.ts";
export type { RepoFiles } from "./runtime-pins.ts";
export { importCompose, importHeroku, importRailway, importRender };

export type ImportKind = "render" | "railway" | "procfile" | "app.json" | "compose";

/** How an import names the project: see importText. */
export interface ImportOptions {
  readonly project?: string;
  readonly defaultProject?: string;
}

const names = (o: ImportOptions) => ({ ...(o.project ? { project: o.project } : {}), ...(o.defaultProject ? { defaultProject: o.defaultProject } : {}) });

/** Tells the format from the file name (as the platforms themselves do). */
export function detectKind(file: string): ImportKind | undefined {
  const name = basename(file).toLowerCase();
  if (/render\.ya?ml$/.test(name)) return "render";
  if (/railway(\.[\w-]+)?\.(toml|json)$/.test(name)) return "railway";
  if (/procfile/.test(name)) return "procfile";
  if (/app\.json$/.test(name)) return "app.json";
  if (/(docker-)?compose(\.[\w-]+)?\.ya?ml$/.test(name)) return "compose";
  return undefined;
}

/**
 * Imports text of a known kind. `companion` is the other half of Procfile + app.json. The project
 * is named by `project` (the user's flag), else by the file itself (Render `projects[].name`,
 * Railway/compose/app.json `name`), else by `defaultProject` (the folder's real name).
 */
export function importText(kind: ImportKind, text: string, opts: ImportOptions & { file: string; companion?: { file: string; text: string }; repo?: RepoFiles }): ImportResult {
  try {
    switch (kind) {
      case "render":
        return importRender(text, opts);
      case "railway":
        return importRailway(text, opts);
      case "compose":
        return importCompose(text, opts);
      case "procfile":
        return importHeroku({ procfile: { file: opts.file, text }, ...(opts.companion ? { appJson: opts.companion } : {}), ...names(opts), ...(opts.repo ? { repo: opts.repo } : {}) });
      case "app.json":
        return importHeroku({ appJson: { file: opts.file, text }, ...(opts.companion ? { procfile: opts.companion } : {}), ...names(opts), ...(opts.repo ? { repo: opts.repo } : {}) });
    }
  } catch (e) {
    // The importers guard their input; this is the last line so that a bug still yields a result.
    const draft = new Draft(opts.file, opts.project ?? opts.defaultProject ?? "app");
    draft.approx([], `the importer failed (${e instanceof Error ? e.message : String(e)})`, "Please report this file; write the berth.yaml by hand meanwhile.");
    return emit(draft);
  }
}

/** Reads a file (and its Procfile/app.json sibling) and imports it. */
export async function importFile(file: string, opts: { project?: string } = {}): Promise<ImportResult> {
  const kind = detectKind(file);
  if (!kind) throw new BerthError("BERTH_BLUEPRINT_IMPORT_UNSUPPORTED", { file, detail: "unknown file name" });
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new BerthError("BERTH_BLUEPRINT_NOT_FOUND", { path: file }, { cause: e });
  }
  let companion: { file: string; text: string } | undefined;
  if (kind === "procfile" || kind === "app.json") {
    const other = join(dirname(file), kind === "procfile" ? "app.json" : "Procfile");
    companion = await readFile(other, "utf8").then((t) => ({ file: other, text: t }), () => undefined);
  }
  // The folder's real name (`render.yaml` alone is in ".", whose basename names nothing).
  const defaultProject = slug(basename(dirname(resolve(file))) || "app");
  return importText(kind, text, { file, ...(opts.project ? { project: opts.project } : {}), defaultProject, ...(companion ? { companion } : {}), repo: repoBeside(file) });
}

/**
 * The repository files next to the imported file, for runtime pins (package.json engines.node,
 * .node-version, .python-version): read-only, never outside that directory.
 */
export function repoBeside(file: string): RepoFiles {
  const root = resolve(dirname(file));
  return {
    read(path) {
      const full = resolve(root, path);
      if (full !== root && !full.startsWith(`${root}/`)) return undefined;
      try {
        return readFileSync(full, "utf8");
      } catch {
        return undefined;
      }
    },
  };
}
