import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import { outFor, printJson, table } from "../output.ts";

interface Target {
  project: string;
  env: string;
  json?: boolean;
}
const base = (o: Target) => `/v1/projects/${encodeURIComponent(o.project)}/environments/${encodeURIComponent(o.env)}`;

/** `berth deploys`, `berth releases`, `berth rollback`, `berth logs`. */
export function registerReleaseCommands(program: Command, ctx: CliContext): void {
  const withTarget = (c: Command) =>
    c.requiredOption("--project <name>", "project name").option("--env <name>", "environment", "production").option("--json", "machine-readable output");

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

  withTarget(
    program
      .command("logs <service>")
      .description("a service's logs")
      .option("-f, --follow", "keep streaming")
      .option("--since <duration>", "only lines newer than this, e.g. 10m")
      .option("--grep <text>", "only lines containing this"),
  ).action(async (service: string, opts: Target & { follow?: boolean; since?: string; grep?: string }) => {
    const q = new URLSearchParams({ follow: String(!!opts.follow) });
    if (opts.since) q.set("since", opts.since);
    if (opts.grep) q.set("grep", opts.grep);
    const abort = new AbortController();
    process.once("SIGINT", () => abort.abort());
    for await (const line of ctx.client().lines(`${base(opts)}/services/${encodeURIComponent(service)}/logs?${q}`, abort.signal)) {
      if (opts.json) process.stdout.write(`${line}\n`);
      else {
        const l = JSON.parse(line) as { at?: string; instance?: string; line?: string; error?: string };
        process.stdout.write(l.error ? `error: ${l.error}\n` : `${l.at} ${l.instance} ${l.line}\n`);
      }
    }
  });
}
