/**
 * The directory link (like `railway link` / `vercel link`): `<dir>/.berth/link.json` records which
 * project, environment and daemon a directory deploys to, so commands run there need no flags.
 * It never holds a token: a local daemon is named by its data dir (its credentials file lives
 * there, mode 0600, outside the user's tree) and a remote one by its URL (the token stays in the
 * CLI config written by `berth login`). `.berth/.gitignore` keeps the folder out of commits anyway.
 * See docs/design/cli-context.md.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { BerthError } from "../core/errors.ts";

/** Where the daemon of a linked directory is: never a credential. */
export type DaemonRef = { readonly kind: "local"; readonly dataDir: string } | { readonly kind: "remote"; readonly url: string };

export interface Link {
  readonly project: string;
  readonly environment: string;
  readonly daemon: DaemonRef;
}

/** A link as found on disk: `dir` is the linked directory (where `.berth/` is). */
export interface FoundLink extends Link {
  readonly dir: string;
  readonly file: string;
}

const LINK_DIR = ".berth";
const LINK_FILE = "link.json";

export const linkFile = (dir: string) => join(resolve(dir), LINK_DIR, LINK_FILE);

function parseDaemon(v: unknown): DaemonRef | undefined {
  const d = v as { kind?: unknown; dataDir?: unknown; url?: unknown } | null;
  if (d?.kind === "local" && typeof d.dataDir === "string") return { kind: "local", dataDir: d.dataDir };
  if (d?.kind === "remote" && typeof d.url === "string") return { kind: "remote", url: d.url };
  return undefined;
}

/** Reads `<dir>/.berth/link.json`; a damaged file is an error that says how to repair it. */
export function readLink(dir: string): FoundLink | undefined {
  const file = linkFile(dir);
  if (!existsSync(file)) return undefined;
  let data: { project?: unknown; environment?: unknown; daemon?: unknown };
  try {
    data = JSON.parse(readFileSync(file, "utf8")) as typeof data;
  } catch (e) {
    throw new BerthError("BERTH_CLI_LINK_INVALID", { file, detail: (e as Error).message });
  }
  const daemon = parseDaemon(data.daemon);
  if (typeof data.project !== "string" || typeof data.environment !== "string" || !daemon) {
    throw new BerthError("BERTH_CLI_LINK_INVALID", { file, detail: "expected project, environment and daemon" });
  }
  return { project: data.project, environment: data.environment, daemon, dir: resolve(dir), file };
}

/** The nearest link from `cwd` upwards (commands work in a subfolder of a linked directory). */
export function findLink(cwd: string): FoundLink | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const found = readLink(dir);
    if (found) return found;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Writes the link atomically, with a `.gitignore` so the folder is never committed. */
export function writeLink(dir: string, link: Link): string {
  const folder = join(resolve(dir), LINK_DIR);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const ignore = join(folder, ".gitignore");
  if (!existsSync(ignore)) writeFileSync(ignore, "# Written by berth: this folder is local to this machine.\n*\n");
  const file = linkFile(dir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ project: link.project, environment: link.environment, daemon: link.daemon }, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
  return file;
}

/** Removes the link (the folder too when nothing else is in it). */
export function removeLink(dir: string): boolean {
  const file = linkFile(dir);
  if (!existsSync(file)) return false;
  rmSync(file);
  return true;
}

/** `local (/var/lib/berth)` or the URL: how a link's daemon is shown. */
export function describeDaemon(d: DaemonRef): string {
  return d.kind === "local" ? `local daemon (data ${d.dataDir})` : d.url;
}
