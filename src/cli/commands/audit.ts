import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import { outFor, paint, printJson, table } from "../output.ts";

interface Entry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  project: string | null;
  address: string;
  status: number;
  requestId: string;
}

/** `berth audit`: who changed what (and who read which secret), from where, with what result. */
export function registerAuditCommand(program: Command, ctx: CliContext): void {
  program
    .command("audit")
    .description("the audit log: every change and every secret read (owner role)")
    .option("-n, --limit <n>", "how many of the newest entries", "50")
    .option("--actor <token>", "only this token's requests")
    .option("--json", "machine-readable output")
    .action(async (opts: { limit: string; actor?: string; json?: boolean }) => {
      const out = outFor(opts);
      const q = new URLSearchParams({ limit: opts.limit });
      if (opts.actor) q.set("actor", opts.actor);
      const rows = await ctx.client().request<Entry[]>("GET", `/v1/audit?${q}`);
      if (out.json) return printJson(rows);
      const status = (s: number) => paint(out, s >= 400 ? "red" : "green", String(s));
      process.stdout.write(`${table([["WHEN", "ACTOR", "STATUS", "ACTION", "TARGET", "FROM"], ...rows.map((e) => [e.at, e.actor, status(e.status), e.action.split(" ")[0]!, e.target, e.address])])}\n`);
    });
}
