/**
 * What every command gets: the directory's context (project, environment, daemon) and a way to
 * reach the daemon. Precedence, highest first (docs/design/cli-context.md):
 *   flags > BERTH_URL/BERTH_TOKEN, BERTH_PROJECT/BERTH_ENV (and BERTH_DATA_DIR for a local
 *   daemon) > the directory's link (`.berth/link.json`, nearest upwards) > `berth login` > the
 *   local daemon of the default data dir.
 * Resolved lazily, so local commands (validate, import, schema) work without any of it.
 */
import { resolve } from "node:path";
import { BerthError } from "../core/errors.ts";
import { ApiClient, cliConfigPath, readCredentialsFile } from "./client.ts";
import { type DaemonRef, type FoundLink, findLink, readLink } from "./link.ts";
import { type DaemonFile, localDataDir, readLocalDaemon } from "./local-daemon.ts";

/** The daemon a command talks to, and why that one. */
export type DaemonChoice =
  | { readonly kind: "remote"; readonly url: string; readonly token: string | undefined; readonly from: "BERTH_URL" | "link" | "login" }
  | { readonly kind: "local"; readonly dataDir: string; readonly from: "BERTH_DATA_DIR" | "link" | "default"; readonly running: DaemonFile | undefined };

/** A default for --project or --env, with where it came from (shown by `berth link`). */
export interface Default {
  readonly value: string;
  readonly from: "BERTH_PROJECT" | "BERTH_ENV" | "link";
}

export interface DirContext {
  /** The link that applies (the directory's own, or the nearest one above it). */
  readonly link: FoundLink | undefined;
  readonly project: Default | undefined;
  readonly environment: Default | undefined;
  readonly daemon: DaemonChoice;
}

const sameUrl = (a: string, b: string) => a.replace(/\/+$/, "") === b.replace(/\/+$/, "");

/** The token `berth login` saved for `url`, if it saved one for that URL. */
function loginTokenFor(url: string, env: NodeJS.ProcessEnv): string | undefined {
  const saved = readCredentialsFile(cliConfigPath(env));
  return saved && sameUrl(saved.url, url) ? saved.token : undefined;
}

/** Picks the daemon: BERTH_URL, else the link's, else `berth login`'s, else the local one. */
export function chooseDaemon(env: NodeJS.ProcessEnv, link: FoundLink | undefined): DaemonChoice {
  if (env.BERTH_URL) return { kind: "remote", url: env.BERTH_URL, token: env.BERTH_TOKEN || loginTokenFor(env.BERTH_URL, env), from: "BERTH_URL" };
  if (link?.daemon.kind === "remote") return { kind: "remote", url: link.daemon.url, token: env.BERTH_TOKEN || loginTokenFor(link.daemon.url, env), from: "link" };
  if (link?.daemon.kind === "local") {
    const dataDir = env.BERTH_DATA_DIR ? resolve(env.BERTH_DATA_DIR) : link.daemon.dataDir;
    return { kind: "local", dataDir, from: env.BERTH_DATA_DIR ? "BERTH_DATA_DIR" : "link", running: readLocalDaemon(dataDir) };
  }
  const saved = readCredentialsFile(cliConfigPath(env));
  if (saved) return { kind: "remote", url: saved.url, token: env.BERTH_TOKEN || saved.token, from: "login" };
  const dataDir = resolve(localDataDir(env));
  return { kind: "local", dataDir, from: env.BERTH_DATA_DIR ? "BERTH_DATA_DIR" : "default", running: readLocalDaemon(dataDir) };
}

/** How a link records the chosen daemon: a local one by its data dir, never a token. */
export function daemonRef(choice: DaemonChoice): DaemonRef {
  return choice.kind === "local" ? { kind: "local", dataDir: choice.dataDir } : { kind: "remote", url: choice.url };
}

/** A client for the chosen daemon, or the catalogue error that says how to get one. */
export function clientFor(choice: DaemonChoice, link?: FoundLink): ApiClient {
  if (choice.kind === "remote") {
    if (!choice.token) throw new BerthError("BERTH_CLI_NO_TOKEN", { url: choice.url });
    return new ApiClient({ url: choice.url, token: choice.token });
  }
  if (choice.running) return new ApiClient(choice.running);
  if (choice.from === "default") {
    throw new BerthError("BERTH_CLI_NO_DAEMON", { detail: `no BERTH_URL, no \`berth login\`, no linked directory here, and no local daemon running (data dir ${choice.dataDir})` });
  }
  throw new BerthError("BERTH_CLI_LOCAL_DAEMON_STOPPED", { where: link ? `of ${link.dir}` : "named by BERTH_DATA_DIR", dataDir: choice.dataDir });
}

/**
 * The context of a directory. `exact`: only the directory's own link (up/down/deploy name a
 * stack's directory); otherwise the nearest link upwards (any command run inside a stack).
 */
export function resolveDirContext(dir: string, env: NodeJS.ProcessEnv = process.env, exact = false): DirContext {
  const link = exact ? readLink(dir) : findLink(dir);
  const project: Default | undefined = env.BERTH_PROJECT ? { value: env.BERTH_PROJECT, from: "BERTH_PROJECT" } : link ? { value: link.project, from: "link" } : undefined;
  // The link's environment belongs to the link's project: not applied to another one.
  const environment: Default | undefined = env.BERTH_ENV
    ? { value: env.BERTH_ENV, from: "BERTH_ENV" }
    : link && project?.value === link.project
      ? { value: link.environment, from: "link" }
      : undefined;
  return { link, project, environment, daemon: chooseDaemon(env, link) };
}

export interface CliContext {
  /** The current directory's context (computed once per command). */
  here(): DirContext;
  /** Another directory's own context (`berth up DIR`, `berth down DIR`, `berth deploy DIR`). */
  of(dir: string): DirContext;
  /** The API client for the current directory's daemon, or a clear error saying how to get one. */
  client(): ApiClient;
}

export function defaultContext(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): CliContext {
  let here: DirContext | undefined;
  const ctx: CliContext = {
    here: () => (here ??= resolveDirContext(cwd, env)),
    of: (dir) => resolveDirContext(resolve(cwd, dir), env, true),
    client: () => clientFor(ctx.here().daemon, ctx.here().link),
  };
  return ctx;
}
