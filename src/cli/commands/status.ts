import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import type { OperationOut } from "../operation-wait.ts";
import { describeDaemon } from "../link.ts";
import { type Out, outFor, paint, printJson, table } from "../output.ts";
import { renderOperations } from "./operations.ts";
import { type PreviewOut, renderPreviews } from "./preview.ts";
import { type PendingDeployOut, renderPendingDeploys } from "./workflow.ts";

/** A database or key-value store as `GET /v1/status` lists it (never a password). */
export interface DatastoreStatus {
  name: string;
  kind: "postgres" | "redis";
  version: string;
  state: "running" | "stopped" | "unknown";
  address: string | null;
  pooledAddress: string | null;
}

export interface EnvStatus {
  project: string;
  name: string;
  status: string;
  statusDetail: string | null;
  generation: number;
  reconciledGeneration: number;
  /** How many services there are; `/v1/status` lists at most 200 (problems first). */
  servicesTotal?: number;
  services: {
    name: string;
    kind: string;
    replicas: number;
    release: number | null;
    failed: boolean;
    /** Issue 19: asleep when idle (absent from older daemons). */
    asleep?: boolean;
    urls?: string[];
    instances: { id: string; state: string; release: number | null; pid: number | null; port: number | null; node?: string | null; restarts: number }[];
  }[];
  /** Present in `GET /v1/status` (not in the single-environment route). */
  databases?: DatastoreStatus[];
  keyValues?: DatastoreStatus[];
}

const STATE_COLOR: Record<string, string> = { live: "green", healthy: "green", running: "green", degraded: "yellow", starting: "yellow", failed: "red", unhealthy: "red", "crash-looping": "red" };

/** Where a service's instances run on a multi-node engine (issue 20): `node1, node2 x2`; empty on local. */
export function nodesOf(instances: readonly { readonly node?: string | null }[]): string {
  const counts = new Map<string, number>();
  for (const i of instances) if (i.node) counts.set(i.node, (counts.get(i.node) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([n, c]) => (c > 1 ? `${n} x${c}` : n)).join(", ");
}

export function renderStatus(envs: readonly EnvStatus[], out: Out): string {
  if (envs.length === 0) return "no projects yet — run `berth up` or `berth deploy` in a directory with a berth.yaml";
  const rows: string[][] = [["PROJECT/ENV", "SERVICE", "KIND", "RELEASE", "INSTANCES", "STATE"]];
  for (const e of envs) {
    rows.push([`${e.project}/${e.name}`, "", "", "", "", paint(out, STATE_COLOR[e.status] ?? "dim", e.status) + (e.statusDetail ? ` (${e.statusDetail})` : "")]);
    for (const s of e.services) {
      const states = s.instances.map((i) => i.state);
      const up = states.filter((x) => x === "healthy" || x === "starting").length;
      const summary = [...new Set(states)].map((st) => paint(out, STATE_COLOR[st] ?? "dim", st)).join(",") || (s.asleep ? paint(out, "dim", "asleep (the next request wakes it)") : "-");
      const where = nodesOf(s.instances);
      const state = `${summary}${where ? ` on ${where}` : ""}`;
      rows.push(["", s.name, s.kind, s.release === null ? "-" : `#${s.release}`, s.asleep ? `${up}/0` : `${up}/${s.replicas}`, s.failed ? `${state} ${paint(out, "red", "(last deploy failed; not retried until its inputs change or `berth deploy --retry`)")}` : state]);
    }
    const more = (e.servicesTotal ?? e.services.length) - e.services.length;
    if (more > 0) rows.push(["", `... ${more} more (problems are listed first; the environment's own view lists all)`, "", "", "", ""]);
    for (const d of [...(e.databases ?? []), ...(e.keyValues ?? [])]) {
      const where = [d.address, d.pooledAddress ? `pooled ${d.pooledAddress}` : ""].filter(Boolean).join(", ");
      rows.push(["", d.name, `${d.kind} ${d.version}`, "-", "-", `${paint(out, STATE_COLOR[d.state] ?? "dim", d.state)}${where ? ` ${where}` : ""}`]);
    }
  }
  return table(rows);
}

/** `berth status`: the directory's stack (or every stack with --all), its services and datastores. */
export function registerStatusCommand(program: Command, ctx: CliContext): void {
  program
    .command("status")
    .description("show stacks: environments, services, instances, databases and key-value stores (in a linked directory: its stack)")
    .option("--project <name>", "only this project (default: the directory's link)")
    .option("--env <name>", "only this environment (default: the directory's link)")
    .option("--all", "every project and environment, whatever the directory")
    .option("--json", "machine-readable output")
    .action(async (opts: { project?: string; env?: string; all?: boolean; json?: boolean }) => {
      const r = await ctx.client().request<{ environments: EnvStatus[]; operations?: OperationOut[]; pendingDeploys?: PendingDeployOut[]; previews?: PreviewOut[] }>("GET", "/v1/status");
      const mine = (p: { project: string | null; environment?: string | null }) =>
        opts.all || ((!opts.project || p.project === opts.project) && (!opts.env || !p.environment || p.environment === opts.env));
      const environments = r.environments.filter((e) => mine({ project: e.project, environment: e.name }));
      const operations = (r.operations ?? []).filter((o) => mine(o));
      const pendingDeploys = (r.pendingDeploys ?? []).filter((d) => mine(d));
      // A preview is its own environment (pr-<n>): shown with the project whatever --env says.
      const previews = (r.previews ?? []).filter((p) => mine({ project: p.project }));
      if (opts.json) return printJson({ environments, operations, pendingDeploys, previews });
      const link = opts.all ? undefined : ctx.here().link;
      if (link && link.project === opts.project) process.stderr.write(`linked: ${link.dir} -> ${link.project}/${link.environment} on ${describeDaemon(link.daemon)}\n`);
      if (environments.length === 0 && r.environments.length > 0) {
        // A first deploy held for approval has no environment yet, but is worth showing.
        if (pendingDeploys.length) {
          process.stdout.write(`${opts.project ?? "*"}/${opts.env ?? "*"}: nothing deployed yet\n\n${renderPendingDeploys(pendingDeploys, outFor(opts))}\n`);
          return;
        }
        process.stdout.write(`no stack matches ${opts.project ?? "*"}/${opts.env ?? "*"}; \`berth status --all\` lists every one\n`);
        return;
      }
      process.stdout.write(`${renderStatus(environments, outFor(opts))}\n`);
      // Operations (issue 15): what is pending or running, and what finished in the last hour.
      if (operations.length) process.stdout.write(`\n${renderOperations(operations, outFor(opts))}\n`);
      // Approval gates (issue 19): held deploys, and those decided or superseded in the last hour.
      if (pendingDeploys.length) process.stdout.write(`\n${renderPendingDeploys(pendingDeploys, outFor(opts))}\n`);
      // Previews (issue 19): state, URL, head commit, data step, secrets left empty.
      if (previews.length) process.stdout.write(`\n${renderPreviews(previews, outFor(opts))}\n`);
    });
}
