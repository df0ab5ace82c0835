/**
 * Preview environments (issue 19): `berth preview list|create|approve|destroy`, over
 * `/v1/projects/:p/previews` (src/api/routes/previews.ts). Create, approve and destroy record a
 * `preview` operation on the daemon and follow it (progress lines) unless `--no-wait`.
 */
import type { Command } from "commander";
import { BerthError } from "../../core/errors.ts";
import type { CliContext } from "../context.ts";
import { describeOperation, type OperationOut, requireSucceeded, waitForOperation } from "../operation-wait.ts";
import { type Out, outFor, paint, printJson, progress, table } from "../output.ts";
import { projectOf } from "../target.ts";

/** A preview as the API returns it. */
export interface PreviewOut {
  project: string;
  number: number;
  environment: string;
  source: string;
  branch: string;
  commit: string;
  fork: string | null;
  state: string;
  detail: string | null;
  data: string;
  urls: string[];
  unsetSecrets: string[];
  approvedBy: string | null;
  lastPushAt: string;
  createdAt: string;
}

const STATE_COLOR: Record<string, string> = { live: "green", deploying: "yellow", "awaiting-approval": "yellow", destroying: "dim", destroyed: "dim", failed: "red", "data-failed": "red" };

/** Rows for previews (also the PREVIEWS section of `berth status`). */
export function renderPreviews(rows: readonly PreviewOut[], out: Out): string {
  return table([
    ["PREVIEW", "BRANCH", "COMMIT", "STATE", "DATA", "URL", "UNSET SECRETS"],
    ...rows.map((p) => [
      `${p.project}/${p.environment}`,
      p.fork ? `${p.fork}:${p.branch}` : p.branch,
      p.commit ? p.commit.slice(0, 12) : "-",
      paint(out, STATE_COLOR[p.state] ?? "dim", `${p.state}${p.detail ? ` (${p.detail})` : ""}`),
      p.data,
      p.urls[0] ?? "-",
      p.unsetSecrets.length ? p.unsetSecrets.map((s) => s.replace(/^services\./, "")).join(", ") : "-",
    ]),
  ]);
}

/** A preview's number from the command line: a positive integer, or a usage error saying so. */
function numberOf(text: string): number {
  const n = Number(text.replace(/^#/, ""));
  if (!Number.isInteger(n) || n < 1) throw new BerthError("BERTH_USAGE", { detail: `preview number must be a positive integer (a pull request's), got ${JSON.stringify(text)}` });
  return n;
}

export function registerPreviewCommands(program: Command, ctx: CliContext): void {
  const preview = program.command("preview").description("preview environments per pull request or branch: list, create, approve, destroy");
  const base = (project: string) => `/v1/projects/${encodeURIComponent(project)}/previews`;
  const projectFor = (opts: { project?: string }) => opts.project ?? ctx.here().project?.value ?? projectOf({});

  /** Follows a preview operation to its end, printing its steps; throws its error if it failed. */
  const follow = async (op: OperationOut, opts: { wait: boolean; json?: boolean }, summary: (op: OperationOut) => string): Promise<void> => {
    const client = ctx.client();
    if (!opts.wait) {
      if (opts.json) return printJson(op);
      process.stdout.write(`${summary(op)} (operation ${op.id}; follow with \`berth operations show ${op.id}\`)\n`);
      return;
    }
    const p = progress(outFor(opts));
    const done = await waitForOperation(client, op.id, (line) => p.update(line));
    p.done(describeOperation(done));
    if (opts.json) printJson(done);
    requireSucceeded(done);
    if (!opts.json) process.stdout.write(`${summary(done)}\n`);
  };

  preview
    .command("list")
    .description("the project's previews: state, URL, head commit, data step, secrets left empty")
    .option("--project <name>", "project (default: the directory's link, else ./berth.yaml)")
    .option("--all-states", "include destroyed previews")
    .option("--json", "machine-readable output")
    .action(async (opts: { project?: string; allStates?: boolean; json?: boolean }) => {
      const project = projectFor(opts);
      const rows = (await ctx.client().request<PreviewOut[]>("GET", base(project))).filter((p) => opts.allStates || p.state !== "destroyed");
      if (opts.json) return printJson(rows);
      if (rows.length === 0) {
        process.stdout.write(`${project} has no previews${opts.allStates ? "" : " (`--all-states` shows destroyed ones)"}\n`);
        return;
      }
      process.stdout.write(`${renderPreviews(rows, outFor(opts))}\n`);
    });

  preview
    .command("create [number]")
    .description("open a preview of a branch's head (how `previews.mode: manual` previews start); number: the pull request's (default: the next)")
    .requiredOption("--branch <name>", "the branch to run, fetched from the project's repository")
    .option("--project <name>", "project (default: the directory's link, else ./berth.yaml)")
    .option("--no-wait", "return once recorded, without following the deploy")
    .option("--json", "machine-readable output")
    .action(async (number: string | undefined, opts: { branch: string; project?: string; wait: boolean; json?: boolean }) => {
      const project = projectFor(opts);
      const body = { branch: opts.branch, ...(number !== undefined ? { number: numberOf(number) } : {}) };
      const r = await ctx.client().request<{ preview: PreviewOut; operation: OperationOut }>("POST", base(project), body);
      if (!opts.json) process.stderr.write(`preview #${r.preview.number} (${project}/${r.preview.environment}) of branch ${opts.branch}: deploying\n`);
      await follow(r.operation, opts, (op) => {
        const result = op.result as { state?: string; urls?: string[] } | null;
        return `${project}/${r.preview.environment}: ${result?.state ?? op.state}${result?.urls?.length ? ` at ${result.urls.join(" ")}` : ""}`;
      });
    });

  preview
    .command("approve <number>")
    .description("approve the head commit of a fork's pull request (owner role): its preview is deployed")
    .option("--project <name>", "project (default: the directory's link, else ./berth.yaml)")
    .option("--no-wait", "return once approved, without following the deploy")
    .option("--json", "machine-readable output")
    .action(async (number: string, opts: { project?: string; wait: boolean; json?: boolean }) => {
      const project = projectFor(opts);
      const r = await ctx.client().request<{ preview: PreviewOut; operation: OperationOut }>("POST", `${base(project)}/${numberOf(number)}/approve`, {});
      if (!opts.json) process.stderr.write(`approved ${r.preview.commit.slice(0, 12)} of ${r.preview.fork ?? r.preview.branch} for ${project}/${r.preview.environment}\n`);
      await follow(r.operation, opts, (op) => {
        const result = op.result as { state?: string; urls?: string[] } | null;
        return `${project}/${r.preview.environment}: ${result?.state ?? op.state}${result?.urls?.length ? ` at ${result.urls.join(" ")}` : ""}`;
      });
    });

  preview
    .command("destroy <number>")
    .description("destroy a preview now: processes, databases, backups, routes, certificates and checkouts")
    .option("--project <name>", "project (default: the directory's link, else ./berth.yaml)")
    .option("--no-wait", "return once recorded, without following the removal")
    .option("--json", "machine-readable output")
    .action(async (number: string, opts: { project?: string; wait: boolean; json?: boolean }) => {
      const project = projectFor(opts);
      const n = numberOf(number);
      const op = await ctx.client().request<OperationOut>("DELETE", `${base(project)}/${n}`);
      await follow(op, opts, (done) => {
        const removed = (done.result as { removed?: string[] } | null)?.removed;
        return `${project}/pr-${n}: ${done.state === "succeeded" ? "destroyed" : done.state}${removed ? ` (${removed.length} things removed)` : ""}`;
      });
    });
}
