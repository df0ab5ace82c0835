/**
 * Tiny Node apps the local engine's tests run (through process.execPath): releases are temporary
 * directories holding them.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BerthError } from "../../../core/errors.ts";
import type { Release, ServiceRef } from "../../engine.ts";

export const NODE = process.execPath;

/** Prints a greeting, listens on $PORT when given (GET / and /health answer 200), stops on SIGTERM. */
export const OK_APP = `
const http = require("node:http");
console.log("hello " + (process.env.PORT || "worker") + " " + (process.env.GREETING || ""));
process.on("SIGTERM", () => { console.log("bye"); process.exit(0); });
if (process.env.CRASH_AFTER_MS) setTimeout(() => { console.error("crashing"); process.exit(1); }, Number(process.env.CRASH_AFTER_MS));
if (process.env.PORT) {
  http.createServer((req, res) => {
    if (req.url === "/health" && process.env.HEALTH_FILE && require("node:fs").existsSync(process.env.HEALTH_FILE)) { res.statusCode = 500; res.end("sick"); return; }
    res.end("ok " + process.pid);
  }).listen(Number(process.env.PORT), "127.0.0.1");
} else setInterval(() => {}, 1 << 30);
`;

/** Forks a grandchild that ignores SIGTERM, to prove stops reach the whole group. */
export const FORKING_APP = `
const { spawn } = require("node:child_process");
const c = spawn(process.execPath, ["-e", "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], { stdio: "ignore" });
console.log("grandchild " + c.pid);
setInterval(() => {}, 1 << 30);
`;

/** Waits a second (past its health gate), then allocates memory until something stops it. */
export const HOG_APP = `
const keep = [];
setTimeout(() => setInterval(() => { keep.push(Buffer.alloc(16 * 1024 * 1024, 1)); console.log("allocated " + keep.length * 16 + " MB"); }, 20), 1000);
`;

/** Tries to read the paths given as arguments and prints what happened. */
export const SNOOP_APP = `
const fs = require("node:fs");
console.log("uid " + process.getuid());
for (const p of process.argv.slice(2)) {
  try { fs.readdirSync(p); console.log("READ " + p); } catch (e) { console.log("DENIED " + p + " " + e.code); }
}
setInterval(() => {}, 1 << 30);
`;

let seq = 0;

/** Writes a release directory holding every test app; env is carried as JSON in `sealedEnv`. */
export function makeRelease(root: string, ref: ServiceRef, number: number, env: Record<string, string> = {}): Release {
  const dir = mkdtempSync(join(root, `rel-${ref.service}-${number}-`));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "app.cjs"), OK_APP);
  writeFileSync(join(dir, "fork.cjs"), FORKING_APP);
  writeFileSync(join(dir, "hog.cjs"), HOG_APP);
  writeFileSync(join(dir, "snoop.cjs"), SNOOP_APP);
  writeFileSync(join(dir, "crash.cjs"), "console.error('boom'); process.exit(1);\n");
  seq++;
  return { id: `rel_${ref.service}_${number}_${seq}`, number, service: ref, artifact: { kind: "dir", path: dir, digest: `d${seq}` }, sealedEnv: JSON.stringify(env) };
}

/** The test EnvOpener: JSON, or a failure for the sealed value "BROKEN". */
export async function openTestEnv(release: Release): Promise<Record<string, string>> {
  if (release.sealedEnv === "BROKEN") throw new BerthError("BERTH_INTERNAL", { detail: "cannot decrypt the release env" });
  return JSON.parse(release.sealedEnv) as Record<string, string>;
}

export const startOf = (script: string, args = ""): string => `exec ${NODE} ${script}${args ? ` ${args}` : ""}`;

/** Applies and returns the rollout events, throwing when it failed. */
export async function applyOrThrow(
  engine: { apply: import("../../engine.ts").Engine["apply"] },
  spec: import("../../engine.ts").ServiceSpec,
  release: Release,
  rollout: import("../../engine.ts").Rollout,
): Promise<import("../../engine.ts").RolloutEvent[]> {
  const out: import("../../engine.ts").RolloutEvent[] = [];
  for await (const e of engine.apply(spec, release, rollout, new AbortController().signal)) out.push(e);
  if (out.at(-1)?.step !== "done") throw new Error(`rollout failed: ${JSON.stringify(out.at(-1))}`);
  return out;
}
