import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import { describeOperation, type OperationOut, requireSucceeded, waitForOperation } from "../operation-wait.ts";
import { outFor, printJson, progress } from "../output.ts";
import { projectOf } from "../target.ts";

interface Remote {
  project: string;
  url: string;
  branch: string;
  served: boolean;
  webhook: string;
}

/**
 * `berth git remote` (where to push: a repository the daemon serves, or the followed URL) and
 * `berth git webhook-secret` (owner: a new secret for the GitHub push webhook, shown once) and
 * `berth git deploy` (records a git-deploy operation and follows it).
 */
export function registerGitCommands(program: Command, ctx: CliContext): void {
  const git = program.command("git").description("auto-deploy from git: push to a followed branch and it deploys");
  const path = (project: string) => `/v1/projects/${encodeURIComponent(project)}/git`;

  git
    .command("remote")
    .description("print where to push (creates the served repository, or follows --url)")
    .option("--project <name>", "project (default: the directory's link, else ./berth.yaml)")
    .option("--url <repository>", "follow this repository instead of one the daemon serves")
    .option("--branch <name>", "default branch (environments without `branch` follow it)", "main")
    .option("--json", "machine-readable output")
    .action(async (opts: { project?: string; url?: string; branch: string; json?: boolean }) => {
      const r = await ctx.client().request<Remote>("POST", path(projectOf(opts)), { branch: opts.branch, ...(opts.url ? { url: opts.url } : {}) });
      if (opts.json) return printJson(r);
      if (r.served) {
        process.stdout.write(`${r.url}\n`);
        process.stderr.write(`push to it: git remote add berth ${r.url} && git push berth ${r.branch}\n(from another machine: git remote add berth ssh://<user>@<this-host>${r.url})\n`);
      } else {
        process.stdout.write(`${r.url}\n`);
        process.stderr.write(`following ${r.url} (${r.branch}); webhook: ${r.webhook} (secret: berth git webhook-secret --project ${r.project})\n`);
      }
    });

  git
    .command("deploy")
    .description("deploy a branch (default: the project's default branch) to the environments that follow it")
    .requiredOption("--project <name>", "project name")
    .option("--branch <name>", "branch to deploy")
    .option("--commit <sha>", "exact commit (full 40-character sha); default: the branch head")
    .option("--no-wait", "return once the operation is recorded")
    .option("--json", "machine-readable output")
    .action(async (opts: { project: string; branch?: string; commit?: string; wait: boolean; json?: boolean }) => {
      const client = ctx.client();
      let op = await client.request<OperationOut>("POST", `${path(opts.project)}/deploy`, { ...(opts.branch ? { branch: opts.branch } : {}), ...(opts.commit ? { commit: opts.commit } : {}) });
      if (opts.wait) {
        const p = progress(outFor(opts));
        op = await waitForOperation(client, op.id, (line) => p.update(line));
        p.done(describeOperation(op));
        // Issue 19: environments that require approval held the push.
        for (const id of (op.result as { pending?: string[] } | null)?.pending ?? []) {
          if (!opts.json) process.stdout.write(`held for approval: deploy ${id}; an owner approves it with \`berth approve ${id}\`\n`);
        }
      }
      if (opts.json) printJson(op);
      else if (!opts.wait) process.stdout.write(`${op.id}\n`);
      if (opts.wait) requireSucceeded(op);
    });

  git
    .command("webhook-secret")
    .description("generate a new secret for the GitHub push webhook and print it once (owner)")
    .option("--project <name>", "project (default: the directory's link, else ./berth.yaml)")
    .option("--json", "machine-readable output")
    .action(async (opts: { project?: string; json?: boolean }) => {
      const r = await ctx.client().request<{ secret: string; webhook: string }>("POST", `${path(projectOf(opts))}/webhook-secret`, {});
      if (opts.json) return printJson(r);
      process.stdout.write(`${r.secret}\n`);
      process.stderr.write(`payload URL: <daemon URL>${r.webhook}, content type application/json, this secret, "just the push event"\n`);
    });
}
