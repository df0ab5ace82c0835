import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import { outFor, printJson, table } from "../output.ts";
import { envPath } from "../target.ts";
import { registerLogsCommand } from "./logs.ts";

/** The target options every command of this file takes (defaults: the directory's link). */
export interface Target {
  project?: string;
  env: string;
  json?: boolean;
}
const base = (o: Target) => envPath(o);

/** `--project` and `--env` as every stack command declares them (see defaults.ts). */
export const withTarget = (c: Command) =>
  c
    .option("--project <name>", "project (default: the directory's link, else ./berth.yaml)")
    .option("--env <name>", "environment (default: the directory's link, else production)", "production")
    .option("--json", "machine-readable output");

/** `berth deploys`, `berth releases`, `berth rollback` (and `berth logs`, in logs.ts). */
export function registerReleaseCommands(program: Command, ctx: CliContext): void {

  withTarget(program.command("deploys").description("deploy history with each step's timing").option("--service <name>", "only this service")).action(
    async (opts: Target & { service?: string }) => {
      const rows = await ctx
        .client()
        .request<{ id: string; service: string; release: number | null; status: string; step: string | null; reason: string | null; createdAt: string; steps: { ms: number }[] }[]>(
          "GET",
          `${base(opts)}/deploys${opts.service ? `?service=${encodeURIComponent(opts.service)}` : ""}`,
        );
      if (outFor(opts).json) return printJson(rows);
      process.stdout.write(
        `${table([["DEPLOY", "SERVICE", "RELEASE", "STATUS", "TOOK", "WHEN", "REASON"], ...rows.map((d) => [d.id, d.service, d.release ? `#${d.release}` : "-", d.status, `${d.steps.reduce((a, s) => a + s.ms, 0)}ms`, d.createdAt, d.reason ?? ""])])}\n`,
      );
    },
  );

  withTarget(program.command("releases <service>").description("a service's releases")).action(async (service: string, opts: Target) => {
    const rows = await ctx.client().request<{ number: number; digest: string; createdAt: string; desired: boolean }[]>("GET", `${base(opts)}/services/${encodeURIComponent(service)}/releases`);
    if (outFor(opts).json) return printJson(rows);
    process.stdout.write(`${table([["RELEASE", "ARTIFACT", "CREATED", ""], ...rows.map((r) => [`#${r.number}`, r.digest.slice(0, 12), r.createdAt, r.desired ? "current" : ""])])}\n`);
  });

  withTarget(program.command("rollback <service> [release]").description("deploy an older release (default: the previous one)")).action(
    async (service: string, release: string | undefined, opts: Target) => {
      const r = await ctx
        .client()
        .request<{ release: number }>("POST", `${base(opts)}/services/${encodeURIComponent(service)}/rollback`, release ? { release: Number(release) } : {});
      if (opts.json) printJson(r);
      else process.stdout.write(`rolling ${service} back to release #${r.release} (follow with \`berth events -f\`)\n`);
    },
  );
  registerLogsCommand(program, ctx);
}
