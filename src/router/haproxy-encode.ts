/**
 * The one encoder for everything Berth writes into HAProxy's files. Route keys come from
 * blueprints (host names, path prefixes), so no value reaches a file without passing here:
 *
 * - map files: HAProxy strips leading blanks, ignores lines starting with `#`, takes the first
 *   run of non-blank characters as the key and the rest of the line as the value. A key or value
 *   holding a blank, a line break or a leading `#` would add or hide entries (issue 17: a path
 *   with a newline added a route for another project's host). Keys and values here are a closed
 *   set of visible ASCII characters without `#`; anything else throws.
 * - the configuration: bare words from a closed set; free text (health-check paths and Host
 *   headers) goes in single quotes, where HAProxy expands nothing, with `'` written as `'\''`.
 *
 * The blueprint schema already refuses these characters with a located error
 * (`src/blueprint/schema/safe-text.ts`); this is the second line, and the fuzz test holds it.
 */
import { BerthError } from "../core/errors.ts";

/** Characters a map key or value may hold: visible ASCII minus `#`, quotes and `\`. */
const MAP_TOKEN = /^[A-Za-z0-9\-._~!$&()*+,;=:@/%?[\]{}|^`<>']+$/;

/** Characters a bare configuration word may hold: names, addresses, file paths. */
const CFG_WORD = /^[A-Za-z0-9\-._~:/@+,=%]+$/;

function refuse(what: string, value: string): never {
  throw new BerthError("BERTH_ROUTER_UNSAFE_VALUE", { what, value: JSON.stringify(value).slice(0, 200) });
}

/** One map key or value, unchanged when safe. */
export function mapToken(value: string, what = "map entry"): string {
  if (!MAP_TOKEN.test(value)) refuse(what, value);
  return value;
}

/** One line of a map file: `key value`. */
export function mapLine(key: string, value: string): string {
  return `${mapToken(key, "map key")} ${mapToken(value, "map value")}`;
}

/** A bare word of the configuration (names, addresses, paths Berth chose). */
export function cfgWord(value: string): string {
  if (!CFG_WORD.test(value)) refuse("configuration word", value);
  return value;
}

/**
 * Free text as one configuration argument: single-quoted (no variable or escape processing
 * inside), an embedded `'` closed, escaped and reopened. Control characters and non-ASCII are
 * refused: HAProxy's line parser has no way to carry them.
 */
export function cfgString(value: string): string {
  if (value.length === 0 || /[^\x20-\x7e]/.test(value)) refuse("configuration string", value);
  return `'${value.replace(/'/g, "'\\''")}'`;
}

/**
 * Reads a map file the way HAProxy does (pure): blank and `#` lines skipped, leading blanks
 * stripped, key = first run of non-blanks, value = the rest without surrounding blanks. Used by
 * tests to check that rendered maps hold exactly the intended entries.
 */
export function parseMapFile(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/^[ \t]+/, "");
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([^ \t]+)[ \t]*(.*?)[ \t]*$/s.exec(line);
    if (m) out.push([m[1]!, m[2]!]);
  }
  return out;
}
