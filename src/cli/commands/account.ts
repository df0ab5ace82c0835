import type { Command } from "commander";
import { BerthError } from "../../core/errors.ts";
import { ApiClient, cliConfigPath, saveCredentials } from "../client.ts";
import type { CliContext } from "../context.ts";
import { ownContext } from "../defaults.ts";
import { outFor, printJson, table } from "../output.ts";

interface TokenOut {
  name: string;
  role: string;
  projects: string[];
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** `berth login` and `berth token create|list|revoke`. */
export function registerAccountCommands(program: Command, ctx: CliContext): void {
  program
    .command("login")
    .description("save the daemon's URL and a token for later commands")
    .requiredOption("--url <url>", "daemon URL, e.g. http://127.0.0.1:7700")
    .requiredOption("--token <token>", "an API token (`berth server` prints the owner token once)")
    .option("--json", "machine-readable output")
    .action(async (opts: { url: string; token: string; json?: boolean }) => {
      const client = new ApiClient({ url: opts.url, token: opts.token });
      const me = await client.request<{ name: string; role: string }>("GET", "/v1/whoami");
      saveCredentials({ url: opts.url, token: opts.token });
      if (opts.json) printJson({ ...me, config: cliConfigPath() });
      else process.stdout.write(`logged in to ${opts.url} as ${me.name} (${me.role}); saved to ${cliConfigPath()}\n`);
    });

  const token = program.command("token").description("manage API tokens (owner role)");
  // --project scopes the token here: never filled from the directory's link.
  ownContext(
    token
      .command("create <name>")
      .description("create a token; its value is shown once")
      .option("--role <role>", "owner, deployer or viewer", "viewer")
      .option("--project <name...>", "limit the token to these projects")
      .option("--json", "machine-readable output"),
  ).action(async (name: string, opts: { role: string; project?: string[]; json?: boolean }) => {
      if (!["owner", "deployer", "viewer"].includes(opts.role)) {
        throw new BerthError("BERTH_USAGE", { detail: `--role '${opts.role}' is not one of owner, deployer, viewer` });
      }
      const r = await ctx.client().request<{ token: string; name: string; role: string }>("POST", "/v1/tokens", { name, role: opts.role, projects: opts.project ?? [] });
      if (opts.json) printJson(r);
      else process.stdout.write(`token ${r.name} (${r.role}) — shown once:\n\n  ${r.token}\n`);
    });
  token
    .command("list")
    .description("list tokens (never their values)")
    .option("--json", "machine-readable output")
    .action(async (opts: { json?: boolean }) => {
      const rows = await ctx.client().request<TokenOut[]>("GET", "/v1/tokens");
      if (outFor(opts).json) return printJson(rows);
      process.stdout.write(
        `${table([["NAME", "ROLE", "PROJECTS", "LAST USED", "STATUS"], ...rows.map((t) => [t.name, t.role, t.projects.join(",") || "*", t.lastUsedAt ?? "-", t.revokedAt ? "revoked" : "active"])])}\n`,
      );
    });
  token
    .command("revoke <name>")
    .description("revoke a token at once")
    .option("--json", "machine-readable output")
    .action(async (name: string, opts: { json?: boolean }) => {
      await ctx.client().request("DELETE", `/v1/tokens/${encodeURIComponent(name)}`);
      if (opts.json) printJson({ revoked: name });
      else process.stdout.write(`revoked ${name}\n`);
    });
}
