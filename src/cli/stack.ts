/**
 * What `up`, `down` and `deploy` share: reaching the stack's daemon (starting the local one for
 * `up`), recording a blueprint and waiting for it with progress and failure tails, and writing
 * the hints that follow so they work verbatim from where the user is.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { BerthError } from "../core/errors.ts";
import { readBlueprint } from "./blueprint-dir.ts";
import type { ApiClient } from "./client.ts";
import { type CliContext, clientFor, type DaemonChoice, type DirContext } from "./context.ts";
import { formatTail } from "./failure-tail.ts";
import { ensureLocalDaemon } from "./local-daemon.ts";
import { progress } from "./output.ts";
import type { EnvStatus } from "./commands/status.ts";
import type { PendingDeployOut } from "./commands/workflow.ts";
import { lastSeq, waitForEnvironment } from "./wait.ts";

interface SyncOut {
  project: string;
  environment: string;
  generation: number;
  services: string[];
  warnings: { code: string; message: string; line: number; column: number }[];
  /** Issue 19: the environment requires approval; nothing was recorded but this held deploy. */
  pending?: PendingDeployOut | null;
}

/** A client for the stack's daemon; `start` lets `up` start the local daemon when none runs. */
export async function connect(choice: DaemonChoice, ctx: DirContext, start: boolean): Promise<{ client: ApiClient; localPid: number | undefined }> {
  if (choice.kind === "local" && !choice.running && start) {
    const local = await ensureLocalDaemon(choice.dataDir, (l) => process.stderr.write(`${l}\n`));
    return { client: local.client, localPid: local.pid };
  }
  return { client: clientFor(choice, ctx.link), localPid: choice.kind === "local" ? choice.running?.pid : undefined };
}

/**
 * The environment a stack command targets: the flag, else BERTH_ENV, else the directory's link
 * (when it links this project), else the command's own default.
 */
export function stackEnvironment(flag: string | undefined, ctx: DirContext, project: string, fallback: string): string {
  if (flag) return flag;
  if (ctx.environment?.from === "BERTH_ENV") return ctx.environment.value;
  if (ctx.link && ctx.link.project === project) return ctx.link.environment;
  return fallback;
}

/** The project a command run here would target without flags (as the hook and `projectOf` do). */
function projectHere(ctx: CliContext): string | undefined {
  const here = ctx.here();
  if (here.project) return here.project.value;
  const file = join(process.cwd(), "berth.yaml");
  return existsSync(file) ? /^project:\s*["']?([a-z][a-z0-9-]*)/m.exec(readFileSync(file, "utf8"))?.[1] : undefined;
}

/** ` --project P --env E` when a command typed here would not reach that stack by itself, else "". */
export function targetFlags(ctx: CliContext, project: string, environment: string): string {
  try {
    const here = ctx.here();
    if (projectHere(ctx) === project && (here.environment?.value ?? "production") === environment) return "";
  } catch {
    // An unreadable link here: spell the target out.
  }
  return ` --project ${project} --env ${environment}`;
}

/**
 * Records `dir`'s blueprint as `environment` and waits, showing progress and failure tails. An
 * environment that requires approval holds the deploy (issue 19): that is returned instead,
 * without waiting.
 */
export async function syncAndWait(
  client: ApiClient,
  ctx: CliContext,
  target: { dir: string; environment: string; force: boolean; retry?: boolean; json: boolean },
  onSynced: (r: SyncOut) => void = () => {},
): Promise<EnvStatus | { held: PendingDeployOut }> {
  const bp = readBlueprint(target.dir);
  const p = progress({ json: target.json, color: false });
  const after = await lastSeq(client);
  const r = await client.request<SyncOut>("POST", "/v1/sync", {
    environment: target.environment,
    blueprint: bp.text,
    file: bp.file,
    sourceDir: resolve(target.dir),
    ...(target.force ? { force: true } : {}),
    ...(target.retry ? { retry: true } : {}),
  });
  onSynced(r);
  for (const w of r.warnings) p.update(`warning: ${bp.file}:${w.line}:${w.column} ${w.message}`);
  if (r.pending) return { held: r.pending };
  p.update(`${r.project}/${r.environment}: generation ${r.generation}, ${r.services.length} service(s)`);
  const flags = targetFlags(ctx, r.project, r.environment);
  const env = await waitForEnvironment(client, { project: r.project, environment: r.environment, generation: r.generation, afterSeq: after }, {
    onProgress: (line) => p.update(line),
    onFailure: (service, tail) => p.done(formatTail(service, tail, `berth logs ${service}${tail.build ? " --build" : ""}${flags}`)),
  });
  p.done(`${r.project}/${r.environment}: ${env.status}${env.statusDetail ? ` (${env.statusDetail})` : ""}`);
  return env;
}

/** Services whose last deploy failed, as a catalogue error for `deploy` (exit 1). */
export function failedDeploy(env: EnvStatus, only?: string): BerthError | undefined {
  const failed = env.services.filter((s) => s.failed && (!only || s.name === only));
  if (failed.length === 0) return undefined;
  return new BerthError("BERTH_RECONCILE_FAILED", {
    environment: `${env.project}/${env.name}`,
    step: "deploy",
    detail: `failed: ${failed.map((s) => s.name).join(", ")} (the cause is printed above; \`berth deploys\` lists each step)`,
  });
}
