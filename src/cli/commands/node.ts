/**
 * `berth node list|add|drain|activate|remove` (issue 20): the machines of the Docker Swarm the
 * daemon manages. Drain moves a node's instances to the others; remove takes a node that is down
 * out of the swarm.
 */
import type { Command } from "commander";
import type { ClusterNode, NodeJoin } from "../../engine/nodes.ts";
import type { CliContext } from "../context.ts";
import { type Out, outFor, paint, printJson, table } from "../output.ts";

const STATE_COLOR: Record<string, string> = { ready: "green", active: "green", down: "red", disconnected: "red", drain: "yellow", pause: "yellow" };

/** The table `berth node list` prints. */
export function renderNodes(nodes: readonly ClusterNode[], out: Out): string {
  const rows: string[][] = [["HOSTNAME", "ROLE", "STATE", "AVAILABILITY", "ADDRESS", "ID"]];
  for (const n of nodes) {
    rows.push([
      n.hostname,
      n.managerStatus ? `${n.role} (${n.managerStatus})` : n.role,
      paint(out, STATE_COLOR[n.state] ?? "dim", n.state),
      paint(out, STATE_COLOR[n.availability] ?? "dim", n.availability),
      n.address,
      n.id.slice(0, 12),
    ]);
  }
  return table(rows);
}

export function registerNodeCommands(program: Command, ctx: CliContext): void {
  const node = program.command("node").description("the machines of the Docker Swarm the daemon manages (BERTH_DOCKER_HOST): list, add, drain, activate, remove");
  const path = (name: string, verb = "") => `/v1/nodes/${encodeURIComponent(name)}${verb ? `/${verb}` : ""}`;

  node
    .command("list")
    .description("every node: hostname, role, state, availability, address")
    .option("--json", "machine-readable output")
    .action(async (opts: { json?: boolean }) => {
      const r = await ctx.client().request<{ nodes: ClusterNode[] }>("GET", "/v1/nodes");
      if (opts.json) return printJson(r.nodes);
      process.stdout.write(`${renderNodes(r.nodes, outFor(opts))}\n`);
    });

  node
    .command("add")
    .description("join a machine to the swarm through its Docker socket (--docker-host), or print the token and managers to join it with")
    .option("--docker-host <socket>", "the new machine's Docker socket as the daemon reaches it (unix:///path)")
    .option("--advertise-addr <address>", "address the other nodes reach the new one on")
    .option("--manager", "join as a manager (default: worker)")
    .option("--json", "machine-readable output")
    .action(async (opts: { dockerHost?: string; advertiseAddr?: string; manager?: boolean; json?: boolean }) => {
      const body = { role: opts.manager ? "manager" : "worker", ...(opts.dockerHost ? { dockerHost: opts.dockerHost } : {}), ...(opts.advertiseAddr ? { advertiseAddr: opts.advertiseAddr } : {}) };
      const r = await ctx.client().request<NodeJoin>("POST", "/v1/nodes", body);
      if (opts.json) return printJson(r);
      if (r.kind === "joined") {
        process.stdout.write(`${r.node.hostname} joined as a ${r.node.role} (${r.node.address}, ${r.node.state})\n`);
        return;
      }
      process.stdout.write(
        [
          `To add a ${r.role}, have its dockerd join the swarm (Engine API POST /swarm/join, or Docker's own \`swarm join\`) with:`,
          `  token     ${r.token}`,
          `  managers  ${r.managers.join(", ")}`,
          "or give Berth its Docker socket: `berth node add --docker-host unix:///path/to/docker.sock`.",
          "",
        ].join("\n"),
      );
    });

  node
    .command("drain <node>")
    .description("move a node's instances to the other nodes; it takes no new ones until `berth node activate`")
    .option("--json", "machine-readable output")
    .action(async (name: string, opts: { json?: boolean }) => {
      const n = await ctx.client().request<ClusterNode>("POST", path(name, "drain"));
      if (opts.json) return printJson(n);
      process.stdout.write(`${n.hostname}: ${n.availability} (its tasks move to the other nodes)\n`);
    });

  node
    .command("activate <node>")
    .description("let a drained or paused node take instances again")
    .option("--json", "machine-readable output")
    .action(async (name: string, opts: { json?: boolean }) => {
      const n = await ctx.client().request<ClusterNode>("POST", path(name, "activate"));
      if (opts.json) return printJson(n);
      process.stdout.write(`${n.hostname}: ${n.availability}\n`);
    });

  node
    .command("remove <node>")
    .description("take a node that is down out of the swarm (drain it and stop its dockerd first)")
    .option("--force", "remove it even while it runs")
    .option("--json", "machine-readable output")
    .action(async (name: string, opts: { force?: boolean; json?: boolean }) => {
      const r = await ctx.client().request<{ removed: string }>("DELETE", `${path(name)}${opts.force ? "?force=true" : ""}`);
      if (opts.json) return printJson(r);
      process.stdout.write(`${name} removed from the swarm\n`);
    });
}
