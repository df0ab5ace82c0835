/**
 * Helpers for the git tests: a working repository to commit into, and waiting for an
 * environment to serve an expected body from its instances.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TestDaemon } from "../helpers/daemon.ts";

const ID = ["-c", "user.name=Berth Test", "-c", "user.email=test@berth.invalid", "-c", "commit.gpgsign=false"];

/** Runs git in `dir` (argv, never a shell). */
export function gitIn(dir: string, args: readonly string[]): string {
  return execFileSync("git", [...ID, ...args], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/** A fresh working repository on branch `main`. */
export function initRepo(dir: string): string {
  mkdirSync(dir, { recursive: true });
  gitIn(dir, ["init", "--quiet", "--initial-branch=main"]);
  return dir;
}

/** Writes files, commits them all, returns the new commit's sha. */
export function commit(dir: string, files: Record<string, string>, message = "change"): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  gitIn(dir, ["add", "--all"]);
  gitIn(dir, ["commit", "--quiet", "-m", message]);
  return gitIn(dir, ["rev-parse", "HEAD"]);
}

export const SERVER = `
const http = require("node:http");
const version = require("node:fs").readFileSync(__dirname + "/VERSION", "utf8").trim();
const server = http.createServer((req, res) => res.end(version));
server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`;

export const blueprint = (project: string) => `version: 1
project: ${project}
services:
  web:
    type: web
    start: node server.js
    health: { path: /, interval: 200ms, deployTimeout: 10s }
    build:
      ignoredPaths: ["docs/**"]
environments:
  production: { branch: main }
  staging: { branch: develop }
`;

interface Status {
  status: string;
  services: { name: string; release: number | null; instances: { state: string; port: number | null }[] }[];
}

/** Bodies served by the healthy instances of `project`/production (empty if none yet). */
export async function bodies(t: TestDaemon, project: string, environment = "production"): Promise<string[]> {
  const r = await t.request("GET", `/v1/projects/${project}/environments/${environment}`);
  if (r.status !== 200) return [];
  const s = r.json as Status;
  const ports = (s.services[0]?.instances ?? []).filter((i) => i.state === "healthy" && i.port).map((i) => i.port!);
  return Promise.all(ports.map(async (p) => (await fetch(`http://127.0.0.1:${p}/`)).text().catch(() => "")));
}

/** Polls until every healthy instance serves `body` (and there is one), or fails after `timeoutMs`. */
export async function waitForBody(t: TestDaemon, project: string, body: string, timeoutMs = 30_000, environment = "production"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string[] = [];
  while (Date.now() < deadline) {
    await t.daemon.reconciler.whenIdle();
    last = await bodies(t, project, environment).catch(() => []);
    if (last.length > 0 && last.every((b) => b === body)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${project}/${environment} never served '${body}' (last: ${JSON.stringify(last)})`);
}

/** The source revision (commit) each service of an environment records. */
export function revisions(t: TestDaemon, project: string, environment = "production"): Record<string, string> {
  const env = t.daemon.store.environments.byName(project, environment);
  const out: Record<string, string> = {};
  for (const s of env ? t.daemon.store.services.list(env.id) : []) out[s.name] = (s.inputs as { source: { revision: string } }).source.revision;
  return out;
}
