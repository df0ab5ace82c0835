/**
 * How runtime versions are written (shared by the schema, the importers and the builder): Node.js
 * as a semver range or an nvm alias, Python as `3.11` / `python-3.11.4`. Pure.
 */
import semver from "semver";

/** PostgreSQL majors Berth provides (the distribution's packages or the npm server builds: src/data/postgres/distribution.ts). */
export const POSTGRES_MAJORS: readonly number[] = Object.freeze([14, 15, 16, 17, 18]);

/**
 * The major an imported database gets for the one its platform file asked: itself when Berth
 * provides it, else the nearest provided one above it (a newer server runs an older app's SQL;
 * dumps restore forward), else the newest — with the note the importer records for a substitution.
 */
export function importedPostgresMajor(asked: number): { readonly major: number; readonly note?: { readonly detail: string; readonly suggestion: string } } {
  if (POSTGRES_MAJORS.includes(asked)) return { major: asked };
  const major = POSTGRES_MAJORS.find((m) => m > asked) ?? POSTGRES_MAJORS.at(-1)!;
  return {
    major,
    note: { detail: `PostgreSQL ${asked} cannot be provided; imported as ${major}`, suggestion: `Berth provides PostgreSQL ${POSTGRES_MAJORS.join(", ")}; move existing data with a dump and restore.` },
  };
}

/** PostgreSQL major of a database whose blueprint names none: Render's default. */
export const DEFAULT_POSTGRES_MAJOR = 16;

/** Node.js major used when nothing is pinned: the current LTS line. */
export const DEFAULT_NODE_MAJOR = 24;

// nvm's LTS code names (lts/<name>), so an `.nvmrc` written for nvm means the same here.
const LTS_CODENAMES: Readonly<Record<string, number>> = {
  argon: 4, boron: 6, carbon: 8, dubnium: 10, erbium: 12, fermium: 14, gallium: 16, hydrogen: 18, iron: 20, jod: 22, krypton: 24,
};

/** nvm and .nvmrc spellings (`v20`, `lts/iron`, `node`) as a semver range, or undefined if none. */
export function nodeRange(value: string): string | undefined {
  const v = value.trim().toLowerCase();
  if (["node", "latest", "current", "stable", "*"].includes(v)) return "*";
  if (v === "lts" || v === "lts/*") return `${DEFAULT_NODE_MAJOR}.x`;
  const back = /^lts\/-(\d+)$/.exec(v);
  if (back) return `${DEFAULT_NODE_MAJOR - 2 * Number(back[1])}.x`;
  const code = /^lts\/([a-z]+)$/.exec(v);
  if (code) return LTS_CODENAMES[code[1]!] ? `${LTS_CODENAMES[code[1]!]}.x` : undefined;
  return semver.validRange(v) === null ? undefined : v;
}

/** `python-3.11.4`, `3.11`, `3.11.x`, `cpython-3.12` -> numeric parts, or undefined if not a version. */
export function pythonVersionParts(value: string): number[] | undefined {
  const m = /^(?:c?python-?)?(\d+)(?:\.(\d+))?(?:\.(\d+|x|\*))?$/i.exec(value.trim());
  if (!m) return undefined;
  return [m[1], m[2], m[3]].filter((p): p is string => p !== undefined && /^\d+$/.test(p)).map(Number);
}
