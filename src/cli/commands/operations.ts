import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import { describeOperation, type OperationOut, requireSucceeded, waitForOperation } from "../operation-wait.ts";
import { type Out, outFor, paint, printJson, progress, table } from "../output.ts";

const STATE_COLOR: Record<string, string> = { succeeded: "green", running: "cyan", pending: "yellow", failed: "red", cancelled: "dim" };

/** Rows for a list of operations (also the OPERATIONS section of `berth status`). */
export function renderOperations(ops: readonly OperationOut[], out: Out): string {
  return table([
    ["OPERATION", "KIND", "SCOPE", "STATE", "PROGRESS", "BY", "CREATED"],
    ...ops.map((o) => [
      o.id,
      o.kind,
      [o.project, o.environment].filter(Boolean).join("/") || "-",
      paint(out, STATE_COLOR[o.state] ?? "dim", o.state),
      o.error ? o.error.message : o.progress ? `${o.progress.step} ${o.progress.detail}`.trim() : "",
      o.createdBy,
      o.createdAt,
    ]),
  ]);
}

/** `berth operations` (list) and `berth operation <id>` (show, wait, cancel). */
export function registerOperationCommands(program: Command, ctx: CliContext): void {
  program
    .command("operations")
    .description("recorded operations (deploys from git, backups, restores), newest first")
    .option("--project <name>", "only this project")
    .option("--env <name>", "only this environment")
    .option("--kind <kind>", "only this kind, e.g. git-deploy")
    .option("--state <states>", "comma-separated: pending,running,succeeded,failed,cancelled")
    .option("--limit <n>", "how many", "50")
    .option("--json", "machine-readable output")
    .action(async (opts: { project?: string; env?: string; kind?: string; state?: string; limit: string; json?: boolean }) => {
      const q = new URLSearchParams({ limit: opts.limit });
      if (opts.project) q.set("project", opts.project);
      if (opts.env) q.set("environment", opts.env);
      if (opts.kind) q.set("kind", opts.kind);
      if (opts.state) q.set("state", opts.state);
      const ops = await ctx.client().request<OperationOut[]>("GET", `/v1/operations?${q}`);
      if (opts.json) return printJson(ops);
      process.stdout.write(ops.length === 0 ? "no operations\n" : `${renderOperations(ops, outFor(opts))}\n`);
    });

  program
    .command("operation <id>")
    .description("show an operation; --wait follows it until it has finished")
    .option("--wait", "follow its progress until it has finished; exit non-zero unless it succeeded")
    .option("--cancel", "cancel it (a running one rolls back)")
    .option("--json", "machine-readable output")
    .action(async (id: string, opts: { wait?: boolean; cancel?: boolean; json?: boolean }) => {
      const client = ctx.client();
      let op = opts.cancel
        ? await client.request<OperationOut>("POST", `/v1/operations/${encodeURIComponent(id)}/cancel`, {})
        : await client.request<OperationOut>("GET", `/v1/operations/${encodeURIComponent(id)}`);
      if (opts.wait) {
        const p = progress(outFor(opts));
        op = await waitForOperation(client, id, (line) => p.update(line));
        p.done(describeOperation(op));
      }
      if (opts.json) printJson(op);
      else if (!opts.wait) process.stdout.write(`${describeOperation(op)}\n`);
      if (opts.wait) requireSucceeded(op);
    });
}
