/** Helpers of the preview tests (issue 19): the service, the blueprint, a fake forge, process counting. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createServer, type IncomingMessage } from "node:http";
import { createServer as netServer } from "node:net";
import { commit, gitIn } from "../git/helpers.ts";

export const PREVIEW_SERVER = `
const http = require("node:http");
const net = require("node:net");
const version = require("node:fs").readFileSync(__dirname + "/VERSION", "utf8").trim();
function ping(url) {
  return new Promise((resolve) => {
    const u = new URL(url);
    const s = net.connect(Number(u.port), u.hostname, () => s.write("AUTH " + decodeURIComponent(u.password) + "\\r\\nPING\\r\\n"));
    let d = "";
    const t = setTimeout(() => { s.destroy(); resolve("timeout " + d); }, 2000);
    s.on("data", (c) => { d += c; if (d.includes("PONG")) { clearTimeout(t); s.destroy(); resolve("PONG"); } });
    s.on("error", (e) => { clearTimeout(t); resolve("error " + e.message); });
  });
}
const server = http.createServer(async (req, res) => {
  if (req.url === "/health") return res.end("ok");
  const db = new URL(process.env.DATABASE_URL);
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ version, pr: process.env.IS_PULL_REQUEST ?? null, preview: process.env.BERTH_PREVIEW ?? null, number: process.env.BERTH_PULL_REQUEST ?? null,
    db: db.port + "/" + db.pathname.slice(1), redisPort: new URL(process.env.REDIS_URL).port, redis: await ping(process.env.REDIS_URL), key: process.env.PAYMENT_KEY ?? null, mode: process.env.PAYMENT_MODE ?? null }));
});
server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`;

export const previewBlueprint = (project: string, extra = "") => `version: 1
project: ${project}
services:
  api:
    type: web
    start: node server.js
    health: { path: /health, interval: 200ms, deployTimeout: 20s }
    env:
      DATABASE_URL: { fromDatabase: db.connectionString }
      REDIS_URL: { fromKeyValue: cache.url }
      PAYMENT_KEY: { secret: true }
      PAYMENT_MODE: { secret: true, previewValue: test }
databases:
  db: { postgres: 15, pitr: 7d, backups: { schedule: daily, keep: { daily: 2 } } }
keyValues:
  cache: { redis: 7 }
environments:
  staging: { branch: main }
previews:
  mode: automatic
  baseEnvironment: staging
  maxPreviews: 3
${extra}`;

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = netServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A fake forge: records every commit status POSTed to it, in GitHub's API shape. */
export async function fakeForge(): Promise<{ url: string; statuses: { path: string; auth: string; body: Record<string, string> }[]; close(): Promise<void> }> {
  const statuses: { path: string; auth: string; body: Record<string, string> }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (req.method === "POST" && /^\/repos\/[^/]+\/[^/]+\/statuses\/[0-9a-f]{40}$/.test(req.url ?? "")) {
        statuses.push({ path: req.url!, auth: String(req.headers.authorization), body: JSON.parse(body) });
        res.statusCode = 201;
        res.end("{}");
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, statuses, close: () => new Promise((r) => server.close(() => r())) };
}

/** Processes whose command line names `needle` (Postgres and Redis servers name their directories). */
export function processesNaming(needle: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").includes(needle)) out.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Commits `files` on a feature branch of `repo` and points `refs/pull/<number>/head` at it, as GitHub does. */
export function pushPull(repo: string, number: number, files: Record<string, string>): string {
  gitIn(repo, ["checkout", "--quiet", "-B", `feature-${number}`]);
  const sha = commit(repo, files, `pr ${number}`);
  gitIn(repo, ["update-ref", `refs/pull/${number}/head`, sha]);
  gitIn(repo, ["checkout", "--quiet", "main"]);
  return sha;
}

/** The commits the daemon has checked out (its git cache). */
export const checkoutsIn = (dataDir: string): string[] => readdirSync(join(dataDir, "cache", "git", "checkouts")).filter((n) => /^[0-9a-f]{40}$/.test(n));
