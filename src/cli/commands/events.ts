import type { Command } from "commander";
import type { BerthEvent } from "../../core/events.ts";
import type { CliContext } from "../context.ts";
import { type Out, outFor, paint } from "../output.ts";
import { eventLevel } from "../../core/events.ts";

export function formatEvent(e: BerthEvent, out: Out): string {
  const where = [e.scope.project, e.scope.environment, e.scope.service].filter(Boolean).join("/");
  const level = eventLevel(e.type);
  const type = paint(out, level === "error" ? "red" : level === "warn" ? "yellow" : "cyan", e.type);
  const data = Object.entries((e.data ?? {}) as Record<string, unknown>)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  return `${paint(out, "dim", e.at)} ${type}${where ? ` ${where}` : ""} ${data}`.trimEnd();
}

/** `berth events [-f]`: the event log, optionally followed live. */
export function registerEventsCommand(program: Command, ctx: CliContext): void {
  program
    .command("events")
    .description("show what happened (deploys, restarts, auth, ...); -f follows")
    .option("-f, --follow", "keep streaming new events")
    .option("--project <name>", "only this project (default: the directory's link)")
    .option("--env <name>", "only this environment (default: the directory's link)")
    .option("--all", "every project's events, whatever the directory")
    .option("--type <types>", "comma-separated event types")
    .option("-n, --limit <n>", "how many past events", "50")
    .option("--json", "one JSON object per line")
    .action(async (opts: { follow?: boolean; project?: string; env?: string; type?: string; limit: string; json?: boolean }) => {
      const out = outFor(opts);
      const q = new URLSearchParams({ limit: opts.limit });
      if (opts.project) q.set("project", opts.project);
      if (opts.env) q.set("environment", opts.env);
      if (opts.type) q.set("type", opts.type);
      const client = ctx.client();
      const print = (e: BerthEvent) => process.stdout.write(`${out.json ? JSON.stringify(e) : formatEvent(e, out)}\n`);
      const past = await client.request<BerthEvent[]>("GET", `/v1/events?${q}`);
      past.forEach(print);
      if (!opts.follow) return;
      q.set("after", String(past.at(-1)?.seq ?? 0));
      const abort = new AbortController();
      process.once("SIGINT", () => abort.abort());
      for await (const line of client.lines(`/v1/events/stream?${q}`, abort.signal)) {
        if (line.startsWith("data: ")) print(JSON.parse(line.slice(6)) as BerthEvent);
      }
    });
}
