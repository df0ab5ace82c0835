/**
 * The project and environment a command acts on. The directory's link reaches commands through
 * their --project/--env options (defaults.ts fills them before the action runs); what is left
 * here is the last fallback: `project:` of ./berth.yaml, then a clear error.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BerthError } from "../core/errors.ts";

/** --project, else $BERTH_PROJECT, else `project:` of ./berth.yaml. */
export function projectOf(opts: { project?: string }, cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): string {
  if (opts.project) return opts.project;
  if (env.BERTH_PROJECT) return env.BERTH_PROJECT;
  const file = join(cwd, "berth.yaml");
  const m = existsSync(file) ? /^project:\s*["']?([a-z][a-z0-9-]*)["']?\s*(#.*)?$/m.exec(readFileSync(file, "utf8")) : null;
  if (m?.[1]) return m[1];
  throw new BerthError("BERTH_CLI_NO_PROJECT", { detail: "no --project, no BERTH_PROJECT, no linked directory and no ./berth.yaml here" });
}

/** `/v1/projects/P/environments/E` for a command's --project/--env. */
export function envPath(opts: { project?: string; env: string }): string {
  return `/v1/projects/${encodeURIComponent(projectOf(opts))}/environments/${encodeURIComponent(opts.env)}`;
}
