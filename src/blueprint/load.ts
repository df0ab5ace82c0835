/** Reading a blueprint from disk. */
import { readFile } from "node:fs/promises";
import { BerthError } from "../core/errors.ts";
import { type ParseResult, parseBlueprint } from "./parse.ts";

/**
 * Reads and parses a blueprint file. A missing file throws BERTH_BLUEPRINT_NOT_FOUND; anything
 * wrong inside it comes back as diagnostics in the result.
 */
export async function loadBlueprintFile(path: string): Promise<ParseResult> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new BerthError("BERTH_BLUEPRINT_NOT_FOUND", { path }, { cause: e });
  }
  return parseBlueprint(text, { file: path });
}
