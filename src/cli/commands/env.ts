import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { BerthError } from "../../core/errors.ts";
import type { CliContext } from "../context.ts";
import { projectOf } from "../target.ts";
import { outFor, printJson, table } from "../output.ts";

interface Where {
  project?: string;
  env: string;
  group?: string;
  service?: string;
  json?: boolean;
}

interface Listing {
  environment: string;
  owner: string;
  name: string;
  source: string;
  keyId: string;
  updatedAt: string;
  updatedBy: string;
}

export { projectOf } from "../target.ts";

/** `<service>` as the first argument, or `--service s`, or `--group g`: the owner and the remaining arguments. */
export function ownerOf(args: readonly string[], opts: { group?: string; service?: string }, needArgs: boolean): { owner: string; rest: string[] } {
  if (opts.group && opts.service) throw new BerthError("BERTH_USAGE", { detail: "pass --service or --group, not both" });
  if (opts.group) return { owner: `group:${opts.group}`, rest: [...args] };
  if (opts.service) return { owner: `service:${opts.service}`, rest: [...args] };
  const [service, ...rest] = args;
  if (!service || service.includes("=")) throw new BerthError("BERTH_USAGE", { detail: "name the service first (or pass --group NAME)" });
  if (needArgs && rest.length === 0) throw new BerthError("BERTH_USAGE", { detail: "name at least one variable" });
  return { owner: `service:${service}`, rest };
}

/**
 * `KEY=VALUE` pairs; `KEY=-` takes the value from `stdin` (once; one trailing newline dropped),
 * so a value never has to appear on a command line or in shell history.
 */
export function parsePairs(pairs: readonly string[], stdin: () => string): Record<string, string> {
  const values: Record<string, string> = {};
  let usedStdin = false;
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new BerthError("BERTH_USAGE", { detail: `'${pair.split("=")[0]}' is not KEY=VALUE (use KEY=- to read the value from stdin)` });
    const key = pair.slice(0, eq);
    let value = pair.slice(eq + 1);
    if (value === "-") {
      if (usedStdin) throw new BerthError("BERTH_USAGE", { detail: "only one variable can read its value from stdin (KEY=-)" });
      usedStdin = true;
      value = stdin().replace(/\r?\n$/, "");
    }
    values[key] = value;
  }
  return values;
}

/**
 * What a `secret set` does next: services reading the values roll in `rolls`; where none reads
 * them (a group only alert channels or log drains read), nothing restarts. `rolls` is absent
 * from older daemons: then every environment reached is said to roll, as before.
 */
export function afterSet(environments: readonly string[], rolls: readonly string[] | undefined): string {
  const rolling = rolls ?? environments;
  if (rolling.length > 0) return `; services reading them roll in ${rolling.join(", ")}`;
  if (environments.length === 0) return "";
  return `; no service reads them, so nothing restarts in ${environments.join(", ")}: alert channels and log drains that read them use the new value on their next send`;
}

const enc = encodeURIComponent;
const envPath = (o: Where) => `/v1/projects/${enc(projectOf(o))}/environments/${enc(o.env)}`;

/** `berth env set|unset|list|get`, `berth env group create|list|rm`, `berth env rotate [--kek]`. */
export function registerEnvCommands(program: Command, ctx: CliContext): void {
  const env = program.command("env").alias("secret").description("secrets and env groups: values are write-only, `get` needs the owner role");
  const where = (c: Command, group = true) => {
    c.option("--project <name>", "project (default: the directory's link, else ./berth.yaml)").option("--env <name>", "environment, or '*' for every environment", "production");
    if (group) c.option("--service <name>", "the service (instead of naming it first)").option("--group <name>", "an env group instead of a service");
    return c.option("--json", "machine-readable output");
  };

  where(env.command("set [args...]").description("set variables: <service> KEY=VALUE... (KEY=- reads the value from stdin)")).action(async (args: string[], opts: Where) => {
    const { owner, rest } = ownerOf(args, opts, true);
    const values = parsePairs(rest, () => readFileSync(0, "utf8"));
    const r = await ctx.client().request<{ set: Listing[]; warnings: string[]; environments: string[]; rolls?: string[] }>("PUT", `${envPath(opts)}/secrets`, { owner, values });
    if (opts.json) return printJson(r);
    for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
    process.stdout.write(`set ${r.set.map((l) => l.name).join(", ")} for ${owner} (${opts.env})${afterSet(r.environments, r.rolls)}\n`);
  });

  where(env.command("unset [args...]").description("remove variables: <service> KEY...")).action(async (args: string[], opts: Where) => {
    const { owner, rest } = ownerOf(args, opts, true);
    const results: { name: string; removed: boolean }[] = [];
    for (const name of rest) {
      const r = await ctx.client().request<{ removed: boolean }>("DELETE", `${envPath(opts)}/secrets/${enc(owner)}/${enc(name)}`);
      results.push({ name, removed: r.removed });
    }
    if (opts.json) return printJson({ owner, environment: opts.env, results });
    for (const r of results) process.stdout.write(r.removed ? `removed ${r.name}\n` : `${r.name} was not set\n`);
  });

  where(env.command("list [service]").description("names, where each value comes from, who set it: never values")).action(async (service: string | undefined, opts: Where) => {
    const name = opts.service ?? service;
    const owner = opts.group ? `group:${opts.group}` : name ? `service:${name}` : undefined;
    const rows = await ctx.client().request<Listing[]>("GET", `${envPath(opts)}/secrets${owner ? `?owner=${enc(owner)}` : ""}`);
    if (outFor(opts).json) return printJson(rows);
    process.stdout.write(`${table([["NAME", "OWNER", "ENV", "SOURCE", "UPDATED", "BY"], ...rows.map((l) => [l.name, l.owner, l.environment, l.source, l.updatedAt, l.updatedBy])])}\n`);
  });

  where(env.command("get [args...]").description("print one value: <service> KEY (owner role; audited)")).action(async (args: string[], opts: Where) => {
    const { owner, rest } = ownerOf(args, opts, true);
    if (rest.length !== 1) throw new BerthError("BERTH_USAGE", { detail: "name exactly one variable" });
    const r = await ctx.client().request<{ value: string }>("GET", `${envPath(opts)}/secrets/${enc(owner)}/${enc(rest[0]!)}`);
    if (opts.json) printJson(r);
    else process.stdout.write(`${r.value}\n`);
  });

  env
    .command("rotate")
    .description("new data key for the project (re-encrypts its values); --kek replaces the key-encryption key (owner role)")
    .option("--project <name>", "project (default: the directory's link, else ./berth.yaml)")
    .option("--kek", "rotate the key-encryption key of the whole installation instead")
    .option("--json", "machine-readable output")
    .action(async (opts: { project?: string; kek?: boolean; json?: boolean }) => {
      if (opts.kek) {
        const r = await ctx.client().request<{ fromKekIds: string[]; toKekId: string; rewrapped: number }>("POST", "/v1/secrets/rotate-kek", {});
        if (opts.json) return printJson(r);
        process.stdout.write(`key-encryption key rotated to ${r.toKekId}; ${r.rewrapped} data key(s) re-wrapped. Back up the new key file now.\n`);
        return;
      }
      const r = await ctx
        .client()
        .request<{ fromVersion: number; toVersion: number; keyId: string; reencrypted: number; ms: number }>("POST", `/v1/projects/${enc(projectOf(opts))}/secrets/rotate`, {});
      if (opts.json) return printJson(r);
      process.stdout.write(`data key v${r.fromVersion} -> v${r.toVersion} (${r.keyId}); ${r.reencrypted} value(s) re-encrypted in ${r.ms}ms\n`);
    });

  const group = env.command("group").description("env groups: named sets of variables that services attach");
  const gopts = (c: Command) => c.option("--project <name>", "project (default: the directory's link, else ./berth.yaml)").option("--json", "machine-readable output");
  const groups = (o: { project?: string }) => `/v1/projects/${enc(projectOf(o))}/env-groups`;
  gopts(group.command("create <name>").description("create a group (set its values with `berth env set --group NAME`)")).action(
    async (name: string, opts: { project?: string; json?: boolean }) => {
      const r = await ctx.client().request<{ name: string; createdAt: string }>("POST", groups(opts), { name });
      if (opts.json) printJson(r);
      else process.stdout.write(`created env group ${r.name}\n`);
    },
  );
  gopts(group.command("list").description("list groups")).action(async (opts: { project?: string; json?: boolean }) => {
    const rows = await ctx.client().request<{ name: string; createdAt: string }[]>("GET", groups(opts));
    if (opts.json) return printJson(rows);
    process.stdout.write(`${table([["GROUP", "CREATED"], ...rows.map((g) => [g.name, g.createdAt])])}\n`);
  });
  gopts(group.command("rm <name>").description("remove a group and every value stored for it")).action(async (name: string, opts: { project?: string; json?: boolean }) => {
    const r = await ctx.client().request<{ removed: boolean; environments: string[] }>("DELETE", `${groups(opts)}/${enc(name)}`);
    if (opts.json) printJson({ name, ...r });
    else process.stdout.write(`removed env group ${name}\n`);
  });
}
