/**
 * `engine: swarm` end to end through the compiled CLI (issue 20): a dockerd in swarm mode in the
 * test's own network namespace (src/engine/swarm/testing/test-swarm.ts, without a registry), and
 * `bin/berth up` run inside that namespace with BERTH_DOCKER_HOST pointing at it. The daemon
 * starts Berth's registry itself, builds the image, runs the service as a Swarm service, and its
 * router sends a request to the task's host-mode published port: 200. A blueprint asking for
 * swarm on a daemon with no Docker host is refused at sync time with the field and the fix.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { canRunTestSwarm, startTestSwarm, type TestSwarm } from "../../src/engine/swarm/testing/test-swarm.ts";
import { BIN, berth, type CliRun, freePort, type Scratch, scratch, stopScratchDaemon } from "../helpers/cli.ts";

const cannot = canRunTestSwarm();
if (cannot) throw new Error(`the swarm tests cannot run here: ${cannot}`);

const BLUEPRINT = `version: 1
project: harbor
engine: swarm
services:
  web:
    type: web
    start: node server.js
    health: { path: /health }
`;
// 0.0.0.0: a published port reaches the task's own network namespace, not its loopback.
const SERVER = `require("node:http").createServer((q, s) => s.end(q.url === "/health" ? "ok" : "hello from " + require("node:os").hostname() + "\\n")).listen(Number(process.env.PORT), "0.0.0.0");\n`;
const HTTP_PORT = 18080;

let swarm: TestSwarm;
let s: Scratch;
let stack: string;
before(async () => {
  swarm = await startTestSwarm({ registry: false });
  s = scratch("berth-swarm-up-");
  stack = join(s.dir, "harbor");
  mkdirSync(stack, { recursive: true });
  writeFileSync(join(stack, "berth.yaml"), BLUEPRINT);
  writeFileSync(join(stack, "server.js"), SERVER);
});
after(async () => {
  await inSwarm(["down"], 120_000).catch(() => undefined);
  await stopScratchDaemon(s);
  await swarm?.stop();
  // The daemon's data: its store, artifacts and the registry's image layers (~50 MB).
  if (s) rmSync(dirname(s.dir), { recursive: true, force: true });
});

/** `bin/berth args` inside the swarm's network namespace (the daemon it starts lives there too). */
function inSwarm(args: readonly string[], timeoutMs = 600_000, env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(swarm.netns[0]!, [...swarm.netns.slice(1), BIN, ...args], {
      cwd: stack,
      env: { ...s.env, BERTH_HTTP_PORT: String(HTTP_PORT), BERTH_DOCKER_HOST: `unix://${swarm.docker.socketPath}`, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const t = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}

test("a blueprint asking for swarm is refused at sync time when the daemon has no swarm manager: the field and the fix", async () => {
  const other = scratch("berth-swarm-refused-");
  const dir = join(other.dir, "harbor");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "berth.yaml"), BLUEPRINT);
  writeFileSync(join(dir, "server.js"), SERVER);
  try {
    const r = await berth(["up", "--detach"], { scratch: other, cwd: dir, env: { BERTH_HTTP_PORT: String(await freePort()) } });
    assert.notEqual(r.status, 0, r.stdout);
    assert.match(r.stderr, /harbor\/development asks for engine 'swarm' at engine in \S*berth\.yaml, but this daemon has no swarm manager configured \(BERTH_DOCKER_HOST is unset\) \[BERTH_ENGINE_UNAVAILABLE\]/);
    assert.match(r.stderr, /BERTH_DOCKER_HOST=unix:\/\/\/var\/run\/docker\.sock/);
    assert.match(r.stderr, /or set engine to `local` in the blueprint/);
  } finally {
    await stopScratchDaemon(other);
    rmSync(dirname(other.dir), { recursive: true, force: true });
  }
});

test("berth up of an `engine: swarm` stack: the daemon starts the registry, runs a Swarm service, and its router answers 200", async () => {
  const t0 = Date.now();
  const up = await inSwarm(["up", "--detach"]);
  const upMs = Date.now() - t0;
  assert.equal(up.status, 0, `berth up: ${up.stdout}\n${up.stderr}`);
  const url = /http:\/\/\S+/.exec(up.stdout)?.[0];
  assert.ok(url, up.stdout);
  const services = await swarm.docker.json<{ Spec: { Name: string; Labels: Record<string, string> } }[]>({ path: "/services" });
  assert.deepEqual(services.map((x) => x.Spec.Labels["berth.service"]), ["web"], "the service runs as a Swarm service");
  const u = new URL(url);
  const probe = `require("node:http").get({ host: "127.0.0.1", port: ${HTTP_PORT}, path: "/", headers: { host: ${JSON.stringify(u.host)} } }, (r) => { let b = ""; r.on("data", (c) => (b += c)); r.on("end", () => console.log(r.statusCode + " " + b.trim())); }).on("error", (e) => console.log("error " + e.message));`;
  const answer = (await swarm.inNetns([process.execPath, "-e", probe])).trim();
  process.stdout.write(`# berth up (swarm) ${upMs} ms; ${url} -> ${answer}\n`);
  assert.match(answer, /^200 hello from /);
  const status = await inSwarm(["status"], 60_000);
  assert.equal(status.status, 0, status.stderr);
  process.stdout.write(`${status.stdout.split("\n").map((l) => `# ${l}`).join("\n")}\n`);
});
