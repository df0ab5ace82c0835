/**
 * `berth up`, `berth down` and `berth deploy`: one directory, one stack. Each works on a named
 * directory (default `.`) and its own link (`.berth/link.json`), which `up` and a first `deploy`
 * write; the local daemon is shared by every stack on the machine and stops with the last one.
 */
import { resolve } from "node:path";
import type { Command } from "commander";
import { isBerthError } from "../../core/errors.ts";
import { readBlueprint, shown } from "../blueprint-dir.ts";
import type { CliContext } from "../context.ts";
import { daemonRef } from "../context.ts";
import { ownContext } from "../defaults.ts";
import { readLink, writeLink } from "../link.ts";
import { runningStacks, stopLocalDaemonIfIdle } from "../local-daemon.ts";
import { outFor, printJson } from "../output.ts";
import { connect, failedDeploy, stackEnvironment, syncAndWait, targetFlags } from "../stack.ts";
import { lastSeq, waitForEnvironment } from "../wait.ts";
import { type EnvStatus, renderStatus } from "./status.ts";
import { heldMessage } from "./workflow.ts";

/** Routed URLs first; services the router does not route show their instances' ports. */
function urls(env: EnvStatus): string[] {
  return env.services.flatMap((s) => {
    if (s.urls && s.urls.length > 0) return s.urls.map((u) => `${s.name.padEnd(16)} ${u}  (${s.kind})`);
    return s.instances.filter((i) => i.port).map((i) => `${s.name.padEnd(16)} http://127.0.0.1:${i.port}  (${s.kind}, instance ${i.id})`);
  });
}

/** The `next:` line: commands that work verbatim from the current directory. */
function nextLine(ctx: CliContext, env: EnvStatus, dir: string | undefined): string {
  const flags = targetFlags(ctx, env.project, env.name);
  const service = (env.services.find((s) => s.kind === "web") ?? env.services[0])?.name;
  const down = dir && resolve(dir) !== process.cwd() ? `berth down ${dir}` : "berth down";
  const parts = [`berth status${flags}`, ...(service ? [`berth logs ${service} -f${flags}`] : []), `berth events -f${flags}`, down];
  return `next: ${parts.join(" · ")}`;
}

/** Stops an environment and waits until it is stopped. */
async function stopEnvironment(client: import("../client.ts").ApiClient, project: string, environment: string, sourceDir?: string): Promise<void> {
  const after = await lastSeq(client);
  // With the directory: a folder whose project moved to another one (`deploy --force`) stops nothing.
  const query = sourceDir ? `?sourceDir=${encodeURIComponent(sourceDir)}` : "";
  await client.request("DELETE", `/v1/projects/${encodeURIComponent(project)}/environments/${encodeURIComponent(environment)}${query}`);
  await waitForEnvironment(client, { project, environment, generation: 0, afterSeq: after }, { timeoutMs: 120_000, settled: (e) => e.status === "stopped" });
}

export function registerUpCommands(program: Command, ctx: CliContext): void {
  ownContext(
    program
      .command("up [dir]")
      .description("run a directory's blueprint (default: a `development` environment) and link the directory to it; Ctrl-C stops what it started")
      .option("-d, --detach", "return once the stack is live, leaving it running")
      .option("--env <name>", "environment (default: the directory's link, else development)")
      .option("--force", "deploy even if the project is deployed from another directory (moves it here)")
      .option("--json", "machine-readable output"),
  ).action(async (dir: string | undefined, opts: { detach?: boolean; env?: string; force?: boolean; json?: boolean }) => {
    const root = resolve(dir ?? ".");
    const bp = readBlueprint(root); // fail fast, before any daemon starts
    const here = ctx.of(root);
    const environment = stackEnvironment(opts.env, here, bp.project, "development");
    const { client, localPid } = await connect(here.daemon, here, true);
    const env = await syncAndWait(client, ctx, { dir: root, environment, force: !!opts.force, json: !!opts.json }, (r) => {
      if (here.link && here.link.project !== r.project && !opts.json) {
        process.stderr.write(`note: ${shown(root)} was linked to ${here.link.project}/${here.link.environment}, which keeps running; it is now linked to ${r.project}/${r.environment}\n`);
      }
      writeLink(root, { project: r.project, environment: r.environment, daemon: daemonRef(here.daemon) });
    });
    if ("held" in env) return void (opts.json ? printJson(env) : process.stdout.write(`${heldMessage(env.held)}\n`));
    if (opts.json) printJson(env);
    else {
      process.stdout.write(`${renderStatus([env], outFor(opts))}\n\n`);
      for (const u of urls(env)) process.stdout.write(`  ${u}\n`);
      process.stdout.write(`\n${nextLine(ctx, env, dir)}\n`);
    }
    if (env.status === "failed" || env.services.some((s) => s.failed)) process.exitCode = 1;
    if (opts.detach) return;
    const abort = new AbortController();
    process.once("SIGINT", () => abort.abort());
    process.once("SIGTERM", () => abort.abort());
    const follow = env.services.map(async (s) => {
      const path = `/v1/projects/${encodeURIComponent(env.project)}/environments/${encodeURIComponent(env.name)}/services/${encodeURIComponent(s.name)}/logs?follow=true&since=1m`;
      for await (const line of client.lines(path, abort.signal)) {
        const l = JSON.parse(line) as { line?: string; error?: string };
        process.stdout.write(`${s.name.padEnd(12)} | ${l.line ?? l.error ?? ""}\n`);
      }
    });
    await new Promise<void>((r) => abort.signal.addEventListener("abort", () => r()));
    process.stderr.write("\nstopping...\n");
    await stopEnvironment(client, env.project, env.name).catch(() => {});
    await Promise.allSettled(follow);
    const running = localPid ? await stopLocalDaemonIfIdle(client, localPid).catch(() => []) : [];
    process.stderr.write(running.length > 0 ? `stopped; the local daemon keeps running for ${running.join(", ")}\n` : "stopped\n");
  });

  ownContext(
    program
      .command("down [dir]")
      .description("stop a directory's stack (the one `berth up` started there); the local daemon stops when no other stack runs")
      .option("--env <name>", "environment (default: the directory's link, else development)")
      .option("--force", "stop the project's stack even if it is now deployed from another directory")
      .option("--json", "machine-readable output"),
  ).action(async (dir: string | undefined, opts: { env?: string; force?: boolean; json?: boolean }) => {
    const root = resolve(dir ?? ".");
    const here = ctx.of(root);
    const link = readLink(root);
    const project = here.project?.value ?? readBlueprint(root).project;
    const environment = stackEnvironment(opts.env, here, project, "development");
    const say = (text: string, json: Record<string, unknown>): void => {
      if (opts.json) printJson(json);
      else process.stdout.write(`${text}\n`);
    };
    if (here.daemon.kind === "local" && !here.daemon.running) {
      return say(`nothing to stop: no local daemon is running (data ${here.daemon.dataDir})`, { stopped: false, reason: "no local daemon running" });
    }
    const { client, localPid } = await connect(here.daemon, here, false);
    try {
      await stopEnvironment(client, project, environment, opts.force ? undefined : root);
    } catch (e) {
      if (!isBerthError(e) || e.code !== "BERTH_NOT_FOUND") throw e;
      return say(`nothing to stop: ${project}/${environment} is not deployed${link ? "" : " (this directory has no link)"}`, { stopped: false, reason: "not deployed" });
    }
    const others = localPid ? await stopLocalDaemonIfIdle(client, localPid) : await runningStacks(client);
    const daemonStopped = localPid !== undefined && others.length === 0;
    const tail = localPid === undefined ? "" : daemonStopped ? " and the local daemon (no other stack runs)" : `; the local daemon keeps running for ${others.join(", ")}`;
    say(`stopped ${project}/${environment}${tail}`, { stopped: true, project, environment, daemonStopped, running: others });
  });

  ownContext(
    program
      .command("deploy [dir]")
      .description("deploy a directory's blueprint to an environment, showing each step")
      .option("--env <name>", "environment (default: the directory's link, else production)")
      .option("--service <name>", "only report this service's progress")
      .option("--force", "deploy even if the project is deployed from another directory (moves it here)")
      .option("--retry", "retry services whose last deploy failed with these same inputs (otherwise they wait for a change)")
      .option("--json", "machine-readable output"),
  ).action(async (dir: string | undefined, opts: { env?: string; service?: string; force?: boolean; retry?: boolean; json?: boolean }) => {
    const root = resolve(dir ?? ".");
    const bp = readBlueprint(root);
    const here = ctx.of(root);
    const environment = stackEnvironment(opts.env, here, bp.project, "production");
    const { client } = await connect(here.daemon, here, false);
    const env = await syncAndWait(client, ctx, { dir: root, environment, force: !!opts.force, retry: !!opts.retry, json: !!opts.json }, (r) => {
      // A directory's first deploy links it; an existing link (its `up` stack) is kept.
      if (!here.link) writeLink(root, { project: r.project, environment: r.environment, daemon: daemonRef(here.daemon) });
    });
    // Issue 19: held for approval; the owner's `berth approve` rolls it out.
    if ("held" in env) return void (opts.json ? printJson(env) : process.stdout.write(`${heldMessage(env.held)}\n`));
    if (opts.json) printJson(env);
    else process.stdout.write(`${renderStatus([env], outFor(opts))}\n`);
    const failed = failedDeploy(env, opts.service);
    if (failed) throw failed;
  });
}
