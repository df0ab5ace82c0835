/**
 * Environments as a workflow (issue 19): `berth promote`, `berth approve`, `berth reject` and
 * `berth pending`. Promotion and approval record desired state on the daemon and then follow the
 * rollout the way `berth deploy` does (progress lines, failure tails, the final status).
 */
import type { Command } from "commander";
import { BerthError } from "../../core/errors.ts";
import type { ApiClient } from "../client.ts";
import type { CliContext } from "../context.ts";
import { ownContext } from "../defaults.ts";
import { formatTail } from "../failure-tail.ts";
import { type Out, outFor, paint, printJson, progress, table } from "../output.ts";
import { failedDeploy, targetFlags } from "../stack.ts";
import { projectOf } from "../target.ts";
import { lastSeq, waitForEnvironment } from "../wait.ts";
import { type EnvStatus, renderStatus } from "./status.ts";

/** A held deploy as the API returns it. */
export interface PendingDeployOut {
  id: string;
  project: string;
  environment: string;
  via: string;
  summary: string;
  state: "pending" | "approved" | "rejected" | "superseded";
  requestedBy: string;
  requestedAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  supersededBy: string | null;
  reason: string | null;
  generation: number | null;
  services: string[];
}

const STATE_COLOR: Record<string, string> = { pending: "yellow", approved: "green", rejected: "red", superseded: "dim" };

/** What a held deploy's state means, in words (status, `berth pending`). */
function stateText(d: PendingDeployOut): string {
  switch (d.state) {
    case "pending":
      return `pending approval (\`berth approve ${d.id}\` or \`berth reject ${d.id}\`)`;
    case "superseded":
      return `superseded by ${d.supersededBy ?? "a newer deploy"}`;
    case "approved":
      return `approved by ${d.decidedBy}${d.generation !== null ? ` (generation ${d.generation})` : ""}`;
    case "rejected":
      return `rejected by ${d.decidedBy}${d.reason ? `: ${d.reason}` : ""}`;
  }
}

/** Rows for held deploys (also the PENDING DEPLOYS section of `berth status`). */
export function renderPendingDeploys(rows: readonly PendingDeployOut[], out: Out): string {
  return table([
    ["DEPLOY", "ENV", "WHAT", "BY", "REQUESTED", "STATE"],
    ...rows.map((d) => [d.id, `${d.project}/${d.environment}`, d.summary, d.requestedBy, d.requestedAt, paint(out, STATE_COLOR[d.state] ?? "dim", stateText(d))]),
  ]);
}

/** The lines a held deploy prints when a command made one. */
export function heldMessage(d: PendingDeployOut): string {
  return `${d.project}/${d.environment} requires approval: deploy ${d.id} (${d.summary}) is pending; an owner approves it with \`berth approve ${d.id}\` (or \`berth reject ${d.id}\`)`;
}

/** Follows an environment to the generation just recorded, like `berth deploy`, and prints it. */
async function follow(client: ApiClient, ctx: CliContext, target: { project: string; environment: string; generation: number; afterSeq: number }, opts: { json?: boolean }): Promise<EnvStatus> {
  const p = progress({ json: !!opts.json, color: false });
  const flags = targetFlags(ctx, target.project, target.environment);
  const env = await waitForEnvironment(client, target, {
    onProgress: (line) => p.update(line),
    onFailure: (service, tail) => p.done(formatTail(service, tail, `berth logs ${service}${tail.build ? " --build" : ""}${flags}`)),
  });
  p.done(`${target.project}/${target.environment}: ${env.status}${env.statusDetail ? ` (${env.statusDetail})` : ""}`);
  return env;
}

export function registerWorkflowCommands(program: Command, ctx: CliContext): void {
  ownContext(
    program
      .command("promote [services...]")
      .description("deploy to one environment the very artifacts another runs (no rebuild), with the target's own env, secrets and resources")
      .requiredOption("--from <env>", "the environment whose live releases are promoted, e.g. staging")
      .requiredOption("--to <env>", "the environment that gets them, e.g. production")
      .option("--all", "every service of --from, with its blueprint (the target's overrides apply)")
      .option("--project <name>", "project (default: the directory's link, else ./berth.yaml)")
      .option("--no-wait", "return once recorded, without following the rollout")
      .option("--json", "machine-readable output"),
  ).action(async (services: string[], opts: { from: string; to: string; all?: boolean; project?: string; wait: boolean; json?: boolean }) => {
    if (!opts.all && services.length === 0) throw new BerthError("BERTH_USAGE", { detail: "name the services to promote, or --all" });
    if (opts.all && services.length > 0) throw new BerthError("BERTH_USAGE", { detail: "--all promotes every service: name services or pass --all, not both" });
    const project = opts.project ?? ctx.here().project?.value ?? projectOf({});
    const client = ctx.client();
    const p = progress({ json: !!opts.json, color: false });
    const after = await lastSeq(client);
    const r = await client.request<{ project: string; environment: string; generation: number; promoted: { service: string; release: number; digest: string }[]; pending: PendingDeployOut | null }>(
      "POST",
      `/v1/projects/${encodeURIComponent(project)}/environments/${encodeURIComponent(opts.to)}/promote`,
      { from: opts.from, ...(opts.all ? { all: true } : { services }) },
    );
    for (const s of r.promoted) p.update(`${s.service}: ${opts.from} release #${s.release}, artifact ${s.digest.slice(0, 12)} -> ${project}/${opts.to}`);
    if (r.pending) {
      if (opts.json) return printJson(r);
      process.stdout.write(`${heldMessage(r.pending)}\n`);
      return;
    }
    if (!opts.wait) {
      if (opts.json) return printJson(r);
      process.stdout.write(`promotion recorded as generation ${r.generation} of ${project}/${opts.to} (follow with \`berth status\`)\n`);
      return;
    }
    const env = await follow(client, ctx, { project, environment: opts.to, generation: r.generation, afterSeq: after }, opts);
    if (opts.json) printJson({ ...r, status: env });
    else process.stdout.write(`${renderStatus([env], outFor(opts))}\n`);
    const failed = failedDeploy(env);
    if (failed) throw failed;
  });

  program
    .command("approve <deploy>")
    .description("approve a deploy held by an environment that requires approval (owner role); it is recorded and rolled out")
    .option("--no-wait", "return once approved, without following the rollout")
    .option("--json", "machine-readable output")
    .action(async (id: string, opts: { wait: boolean; json?: boolean }) => {
      const client = ctx.client();
      const after = await lastSeq(client);
      const r = await client.request<{ deploy: PendingDeployOut; generation: number }>("POST", `/v1/pending-deploys/${encodeURIComponent(id)}/approve`, {});
      const d = r.deploy;
      progress({ json: !!opts.json, color: false }).update(`approved ${d.id} (${d.summary}): ${d.project}/${d.environment} generation ${r.generation}`);
      if (!opts.wait) {
        if (opts.json) return printJson(r);
        process.stdout.write(`approved ${d.id}: ${d.project}/${d.environment} generation ${r.generation} is rolling out (follow with \`berth status\`)\n`);
        return;
      }
      const env = await follow(client, ctx, { project: d.project, environment: d.environment, generation: r.generation, afterSeq: after }, opts);
      if (opts.json) printJson({ ...r, status: env });
      else process.stdout.write(`${renderStatus([env], outFor(opts))}\n`);
      const failed = failedDeploy(env);
      if (failed) throw failed;
    });

  program
    .command("reject <deploy>")
    .description("reject a deploy held for approval (owner role); nothing of it is deployed")
    .option("--reason <text>", "why, recorded with the decision")
    .option("--json", "machine-readable output")
    .action(async (id: string, opts: { reason?: string; json?: boolean }) => {
      const d = await ctx.client().request<PendingDeployOut>("POST", `/v1/pending-deploys/${encodeURIComponent(id)}/reject`, opts.reason ? { reason: opts.reason } : {});
      if (opts.json) return printJson(d);
      process.stdout.write(`rejected ${d.id} (${d.summary}) of ${d.project}/${d.environment}\n`);
    });

  // Own context: a directory linked to staging still lists production's held deploys (the ones
  // waiting for someone); only the project comes from the directory.
  ownContext(
    program
      .command("pending")
      .description("deploys held for approval, newest first (with --all-states: decided and superseded ones too)")
      .option("--project <name>", "only this project (default: the directory's)")
      .option("--env <name>", "only this environment")
      .option("--all-states", "also approved, rejected and superseded ones")
      .option("--limit <n>", "how many", "50")
      .option("--json", "machine-readable output"),
  ).action(async (opts: { project?: string; env?: string; allStates?: boolean; limit: string; json?: boolean }) => {
      const q = new URLSearchParams({ limit: opts.limit });
      const project = opts.project ?? ctx.here().project?.value;
      if (project) q.set("project", project);
      if (opts.env) q.set("environment", opts.env);
      if (!opts.allStates) q.set("state", "pending");
      const rows = await ctx.client().request<PendingDeployOut[]>("GET", `/v1/pending-deploys?${q}`);
      if (opts.json) return printJson(rows);
      process.stdout.write(rows.length ? `${renderPendingDeploys(rows, outFor(opts))}\n` : "no deploys waiting for approval\n");
    });
}
