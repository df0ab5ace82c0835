import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { parseBlueprint } from "../../blueprint/index.ts";
import { BerthError } from "../../core/errors.ts";
import type { ApiClient } from "../client.ts";
import { configuredCredentials } from "../client.ts";
import type { CliContext } from "../context.ts";
import { ensureLocalDaemon, localDataDir, readLocalDaemon, stopLocalDaemon } from "../local-daemon.ts";
import { outFor, printJson, progress } from "../output.ts";
import { type EnvStatus, renderStatus } from "./status.ts";
import { lastSeq, waitForEnvironment } from "../wait.ts";

interface SyncOut {
  project: string;
  environment: string;
  generation: number;
  services: string[];
  warnings: { code: string; message: string; line: number; column: number }[];
}

/** Reads and checks a directory's blueprint locally, so mistakes show before anything starts. */
export function readBlueprint(dir: string): { file: string; text: string; project: string } {
  const file = join(dir, "berth.yaml");
  if (!existsSync(file)) throw new BerthError("BERTH_BLUEPRINT_NOT_FOUND", { path: file });
  const text = readFileSync(file, "utf8");
  const parsed = parseBlueprint(text, { file });
  if (!parsed.ok) {
    throw new BerthError("BERTH_BLUEPRINT_INVALID", { file, count: parsed.errors.length }, { details: parsed.errors });
  }
  return { file, text, project: parsed.blueprint.project };
}

export async function syncAndWait(client: ApiClient, dir: string, environment: string, json: boolean, retry = false): Promise<EnvStatus> {
  const bp = readBlueprint(dir);
  const p = progress({ json, color: false });
  const after = await lastSeq(client);
  const r = await client.request<SyncOut>("POST", "/v1/sync", { environment, blueprint: bp.text, file: bp.file, sourceDir: resolve(dir), ...(retry ? { retry: true } : {}) });
  for (const w of r.warnings) p.update(`warning: ${bp.file}:${w.line}:${w.column} ${w.message}`);
  p.update(`${r.project}/${r.environment}: generation ${r.generation}, ${r.services.length} service(s)`);
  const env = await waitForEnvironment(client, { project: r.project, environment, generation: r.generation, afterSeq: after }, (line) => p.update(line));
  p.done(`${r.project}/${environment}: ${env.status}${env.statusDetail ? ` (${env.statusDetail})` : ""}`);
  return env;
}

/** Routed URLs first; services the router does not route show their instances' ports. */
function urls(env: EnvStatus): string[] {
  return env.services.flatMap((s) => {
    if (s.urls && s.urls.length > 0) return s.urls.map((u) => `${s.name.padEnd(16)} ${u}  (${s.kind})`);
    return s.instances.filter((i) => i.port).map((i) => `${s.name.padEnd(16)} http://127.0.0.1:${i.port}  (${s.kind}, instance ${i.id})`);
  });
}

/** `berth up`, `berth down` and `berth deploy`. */
export function registerUpCommands(program: Command, ctx: CliContext): void {
  program
    .command("up [dir]")
    .description("run a directory's blueprint as a `development` environment; Ctrl-C stops everything it started")
    .option("-d, --detach", "return once the stack is live, leaving it running")
    .option("--env <name>", "environment name", "development")
    .option("--json", "machine-readable output")
    .action(async (dir: string | undefined, opts: { detach?: boolean; env: string; json?: boolean }) => {
      const root = resolve(dir ?? ".");
      readBlueprint(root); // fail fast, before any daemon starts
      const configured = configuredCredentials();
      const local = configured ? undefined : await ensureLocalDaemon(localDataDir(), (l) => process.stderr.write(`${l}\n`));
      const client = configured ? ctx.client() : local!.client;
      const env = await syncAndWait(client, root, opts.env, !!opts.json);
      if (opts.json) printJson(env);
      else {
        process.stdout.write(`${renderStatus([env], outFor(opts))}\n\n`);
        for (const u of urls(env)) process.stdout.write(`  ${u}\n`);
        process.stdout.write(`\nnext: berth status · berth logs <service> -f · berth events -f · berth down ${dir ?? "."}\n`);
      }
      if (env.status === "failed" || env.services.some((s) => s.failed)) process.exitCode = 1;
      if (opts.detach) return;
      const abort = new AbortController();
      process.once("SIGINT", () => abort.abort());
      process.once("SIGTERM", () => abort.abort());
      const follow = env.services.map(async (s) => {
        const path = `/v1/projects/${env.project}/environments/${env.name}/services/${s.name}/logs?follow=true&since=1m`;
        for await (const line of client.lines(path, abort.signal)) {
          const l = JSON.parse(line) as { line?: string; error?: string };
          process.stdout.write(`${s.name.padEnd(12)} | ${l.line ?? l.error ?? ""}\n`);
        }
      });
      await new Promise<void>((r) => abort.signal.addEventListener("abort", () => r()));
      process.stderr.write("\nstopping...\n");
      await client.request("DELETE", `/v1/projects/${env.project}/environments/${env.name}`);
      await waitForEnvironment(client, { project: env.project, environment: env.name, generation: 0, afterSeq: 0 }, () => {}, 120_000, (e) => e.status === "stopped").catch(() => {});
      await Promise.allSettled(follow);
      if (local?.started) await stopLocalDaemon(local.pid);
      process.stderr.write("stopped\n");
    });

  program
    .command("down [dir]")
    .description("stop what `berth up` started for a directory")
    .option("--env <name>", "environment name", "development")
    .option("--json", "machine-readable output")
    .action(async (dir: string | undefined, opts: { env: string; json?: boolean }) => {
      const bp = readBlueprint(resolve(dir ?? "."));
      const configured = configuredCredentials();
      const local = configured ? undefined : readLocalDaemon(localDataDir());
      if (!configured && !local) {
        if (opts.json) printJson({ stopped: false, reason: "no local daemon running" });
        else process.stdout.write("nothing to stop: no local daemon is running\n");
        return;
      }
      const client = configured ? ctx.client() : new (await import("../client.ts")).ApiClient(local!);
      await client.request("DELETE", `/v1/projects/${bp.project}/environments/${opts.env}`);
      const after = await lastSeq(client);
      const env = await waitForEnvironment(client, { project: bp.project, environment: opts.env, generation: 0, afterSeq: after }, () => {}, 120_000, (e) => e.status === "stopped");
      if (local) await stopLocalDaemon(local.pid);
      if (opts.json) printJson({ stopped: true, environment: env.name });
      else process.stdout.write(`stopped ${bp.project}/${opts.env}${local ? " and the local daemon" : ""}\n`);
    });

  program
    .command("deploy [dir]")
    .description("deploy a directory's blueprint to an environment, showing each step")
    .option("--env <name>", "environment", "production")
    .option("--service <name>", "only report this service's progress")
    .option("--retry", "retry services whose last deploy failed with these same inputs (issue 15)")
    .option("--json", "machine-readable output")
    .action(async (dir: string | undefined, opts: { env: string; service?: string; retry?: boolean; json?: boolean }) => {
      const env = await syncAndWait(ctx.client(), resolve(dir ?? "."), opts.env, !!opts.json, !!opts.retry);
      if (opts.json) printJson(env);
      else process.stdout.write(`${renderStatus([env], outFor(opts))}\n`);
      const failed = env.services.filter((s) => s.failed && (!opts.service || s.name === opts.service));
      if (failed.length > 0) {
        throw new BerthError("BERTH_RECONCILE_FAILED", { environment: `${env.project}/${env.name}`, step: "deploy", detail: `failed: ${failed.map((s) => s.name).join(", ")} (see \`berth deploys\`)` });
      }
    });
}
