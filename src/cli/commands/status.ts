import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import type { OperationOut } from "../operation-wait.ts";
import { type Out, outFor, paint, printJson, table } from "../output.ts";
import { renderOperations } from "./operations.ts";

export interface EnvStatus {
  project: string;
  name: string;
  status: string;
  statusDetail: string | null;
  generation: number;
  reconciledGeneration: number;
  services: {
    name: string;
    kind: string;
    replicas: number;
    release: number | null;
    failed: boolean;
    urls?: string[];
    instances: { id: string; state: string; release: number | null; pid: number | null; port: number | null; restarts: number }[];
  }[];
}

const STATE_COLOR: Record<string, string> = { live: "green", healthy: "green", degraded: "yellow", starting: "yellow", failed: "red", unhealthy: "red", "crash-looping": "red" };

export function renderStatus(envs: readonly EnvStatus[], out: Out): string {
  if (envs.length === 0) return "no projects yet — run `berth up` or `berth deploy` in a directory with a berth.yaml";
  const rows: string[][] = [["PROJECT/ENV", "SERVICE", "KIND", "RELEASE", "INSTANCES", "STATE"]];
  for (const e of envs) {
    rows.push([`${e.project}/${e.name}`, "", "", "", "", paint(out, STATE_COLOR[e.status] ?? "dim", e.status) + (e.statusDetail ? ` (${e.statusDetail})` : "")]);
    for (const s of e.services) {
      const states = s.instances.map((i) => i.state);
      const up = states.filter((x) => x === "healthy" || x === "starting").length;
      const summary = [...new Set(states)].map((st) => paint(out, STATE_COLOR[st] ?? "dim", st)).join(",") || "-";
      rows.push(["", s.name, s.kind, s.release === null ? "-" : `#${s.release}`, `${up}/${s.replicas}`, s.failed ? `${summary} ${paint(out, "red", "(last deploy failed)")}` : summary]);
    }
  }
  return table(rows);
}

/** `berth status`: projects, environments, services, instances and their states. */
export function registerStatusCommand(program: Command, ctx: CliContext): void {
  program
    .command("status")
    .description("show projects, environments, services and instances")
    .option("--json", "machine-readable output")
    .action(async (opts: { json?: boolean }) => {
      const r = await ctx.client().request<{ environments: EnvStatus[]; operations?: OperationOut[] }>("GET", "/v1/status");
      if (opts.json) return printJson(r);
      process.stdout.write(`${renderStatus(r.environments, outFor(opts))}\n`);
      // Operations (issue 15): what is pending or running, and what finished in the last hour.
      if (r.operations?.length) process.stdout.write(`\n${renderOperations(r.operations, outFor(opts))}\n`);
    });
}
