/**
 * `berth link [dir]`: record which project, environment and daemon a directory works with
 * (like `railway link`), so every command run there needs no flags; `berth up` does the same for
 * the stack it starts. `berth link --show` prints what applies here and why; `berth unlink`
 * forgets it. See docs/design/cli-context.md.
 */
import { basename, resolve } from "node:path";
import type { Command } from "commander";
import { slug } from "../../blueprint/issues.ts";
import { BerthError } from "../../core/errors.ts";
import { readBlueprint } from "../blueprint-dir.ts";
import type { ApiClient } from "../client.ts";
import { type CliContext, chooseDaemon, clientFor, daemonRef } from "../context.ts";
import { ownContext } from "../defaults.ts";
import { describeDaemon, type FoundLink, readLink, removeLink, writeLink } from "../link.ts";
import { printJson } from "../output.ts";

interface LinkOpts {
  project?: string;
  env?: string;
  url?: string;
  show?: boolean;
  json?: boolean;
}

/** The project a directory holds: its blueprint's name, else its link's, else its real name. */
function projectOfDir(dir: string, link: FoundLink | undefined): string {
  try {
    return readBlueprint(dir).project;
  } catch (e) {
    if (!(e instanceof BerthError) || (e.code !== "BERTH_BLUEPRINT_NOT_FOUND" && e.code !== "BERTH_CLI_BLUEPRINT_IMPORTABLE")) throw e;
  }
  return link?.project ?? slug(basename(resolve(dir)));
}

/** The environment when none is named: the only one the project has, else the command's default. */
async function pickEnvironment(client: ApiClient | undefined, project: string, fallback: string): Promise<{ name: string; deployed: boolean }> {
  if (!client) return { name: fallback, deployed: false };
  const all = await client.request<{ environments: { project: string; name: string }[] }>("GET", "/v1/status");
  const names = all.environments.filter((e) => e.project === project).map((e) => e.name);
  if (names.length === 1) return { name: names[0]!, deployed: true };
  if (names.length > 1) {
    if (names.includes(fallback)) return { name: fallback, deployed: true };
    throw new BerthError("BERTH_USAGE", { detail: `project ${project} has environments ${names.join(", ")}: pass --env NAME` });
  }
  return { name: fallback, deployed: false };
}

export function registerLinkCommands(program: Command, ctx: CliContext): void {
  ownContext(
    program
      .command("link [dir]")
      .description("link a directory (default .) to a project, environment and daemon; commands run there use them")
      .option("--project <name>", "project (default: the directory's berth.yaml, else its name)")
      .option("--env <name>", "environment (default: the project's only one, else development on a local daemon, production on a remote one)")
      .option("--url <url>", "a remote daemon (its token comes from `berth login` or BERTH_TOKEN, never from this file)")
      .option("--show", "print what applies in the directory, and where each value comes from")
      .option("--json", "machine-readable output"),
  ).action(async (dir: string | undefined, opts: LinkOpts) => {
    const root = resolve(dir ?? ".");
    if (opts.show) {
      const here = dir ? ctx.of(root) : ctx.here();
      const shown = {
        link: here.link?.file ?? null,
        project: here.project ?? null,
        environment: here.environment ?? null,
        daemon: here.daemon.kind === "local" ? { kind: "local", dataDir: here.daemon.dataDir, running: !!here.daemon.running, from: here.daemon.from } : { kind: "remote", url: here.daemon.url, from: here.daemon.from },
      };
      if (opts.json) return printJson(shown);
      const from = (d: { value: string; from: string } | undefined) => (d ? `${d.value} (from ${d.from})` : "-");
      const daemon = here.daemon.kind === "local" ? `local daemon, data ${here.daemon.dataDir}${here.daemon.running ? "" : " (not running)"}` : here.daemon.url;
      process.stdout.write(`link:        ${here.link?.file ?? "none"}\nproject:     ${from(here.project)}\nenvironment: ${from(here.environment)}\ndaemon:      ${daemon} (from ${here.daemon.from})\n`);
      return;
    }
    const existing = readLink(root);
    // A remote daemon's token comes from `berth login` or BERTH_TOKEN (clientFor says so) and is never written here.
    const resolved = opts.url ? chooseDaemon({ ...process.env, BERTH_URL: opts.url }, undefined) : chooseDaemon(process.env, existing);
    const reachable = resolved.kind === "remote" || resolved.running ? clientFor(resolved, existing) : undefined;
    if (reachable && resolved.kind === "remote") await reachable.request("GET", "/v1/whoami");
    const project = opts.project ?? projectOfDir(root, existing);
    const fallback = resolved.kind === "local" ? "development" : "production";
    const env = opts.env
      ? { name: opts.env, deployed: true }
      : existing && existing.project === project
        ? { name: existing.environment, deployed: true }
        : await pickEnvironment(reachable, project, fallback);
    const link = { project, environment: env.name, daemon: daemonRef(resolved) };
    const file = writeLink(root, link);
    if (opts.json) return printJson({ ...link, file });
    process.stdout.write(`linked ${root} -> ${project}/${env.name} on ${describeDaemon(link.daemon)} (${file})\n`);
    if (!env.deployed) process.stderr.write(`${project}/${env.name} is not deployed yet: \`berth up\` or \`berth deploy\` in ${root} creates it\n`);
  });

  ownContext(
    program
      .command("unlink [dir]")
      .description("forget a directory's link (nothing stops; `berth down` stops a stack)")
      .option("--json", "machine-readable output"),
  ).action((dir: string | undefined, opts: { json?: boolean }) => {
    const root = resolve(dir ?? ".");
    const removed = removeLink(root);
    if (opts.json) return printJson({ unlinked: removed, dir: root });
    process.stdout.write(removed ? `unlinked ${root}\n` : `${root} was not linked\n`);
  });
}
