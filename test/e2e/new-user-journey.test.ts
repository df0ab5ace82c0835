/**
 * A new user's first hour, driving only the compiled CLI (`bin/berth`) in a scratch directory
 * with a private HOME and data dir, exactly as the README and the CLI's own hints say: `up` in a
 * folder holding only a render.yaml -> the import its error names -> the `next:` commands import
 * prints (validate, a foreground `up` stopped with Ctrl-C) -> `up --detach` -> every `next:` command
 * it prints, verbatim -> a broken build whose error lines appear in `up`'s output and in `logs` ->
 * `down`. Beside it a second stack in another directory (with its own Redis) keeps serving
 * through the shared router during and after the first one's `down`; afterwards no process of
 * the first stack remains, and the last `down` stops the shared daemon. Real local engine,
 * HAProxy on a free port and Redis; apps are dependency-free Node servers.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { berth as run, type CliRun, freePort, scratch, spawnBerth, stopScratchDaemon, untilOutput } from "../helpers/cli.ts";

const RENDER = `projects:
  - name: Tiny Shop
    environments:
      - name: production
        services:
          - type: web
            name: web
            runtime: node
            buildCommand: node build.js
            startCommand: node server.js
            healthCheckPath: /health
`;
const SHOP_SERVER = `require("node:http").createServer((q, s) => s.end(q.url === "/health" ? "ok" : "tiny shop " + require("node:fs").readFileSync("version.txt", "utf8"))).listen(process.env.PORT, () => console.log("shop listening on", process.env.PORT));\n`;
const GOOD_BUILD = `require("node:fs").writeFileSync("version.txt", "v1"); console.log("build: wrote version.txt");\n`;
const BROKEN_BUILD = `console.log("compiling 12 files");\nconsole.error("src/cart.ts(14,3): error TS2304: Cannot find name 'totl'.");\nconsole.error("Found 1 error in src/cart.ts:14");\nprocess.exit(2);\n`;

const SITE = `version: 1
project: other-site
services:
  site:
    type: web
    start: node server.js
    health: { path: / }
    env:
      REDIS_URL: { fromKeyValue: cache.url }
keyValues:
  cache: { redis: 7, persistence: none }
`;
const SITE_SERVER = `require("node:http").createServer((q, s) => s.end("other site ok")).listen(process.env.PORT);\n`;

/** The `next: a · b · c` line a command printed, as separate command lines. */
function nextCommands(out: string): string[] {
  const line = out.split("\n").find((l) => l.startsWith("next: "));
  assert.ok(line, `no next: line in\n${out}`);
  return line.slice("next: ".length).split(" · ").map((c) => c.trim());
}

/** `berth a b` -> ["a", "b"] (hints are plain words: no quoting to undo). */
const argv = (command: string) => {
  assert.match(command, /^berth /, command);
  return command.split(/\s+/).slice(1);
};

/** Processes whose environment or command line mentions `needle` (from /proc). */
function processesWith(needle: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, "utf8").replaceAll("\0", " ");
      const environ = readFileSync(`/proc/${name}/environ`, "utf8");
      if (cmd.includes(needle) || environ.split("\0").includes(needle)) out.push({ pid: Number(name), cmd: cmd.slice(0, 160) });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("a new user's first hour, through the compiled CLI only", () => {
  const s = scratch("berth-journey-");
  const app = join(s.dir, "app"); // a folder named "app": the project must still be Render's name
  const site = join(s.dir, "site");
  let port = 0;
  let next: string[] = [];
  const berth = (args: string[], cwd = app): Promise<CliRun> => run(args, { scratch: s, cwd, env: { BERTH_HTTP_PORT: String(port) } });
  const spawnIn = (args: string[], cwd = app) => spawnBerth(args, { scratch: s, cwd, env: { BERTH_HTTP_PORT: String(port) } });
  /** A request through the shared router, by the service's generated host name. */
  const viaRouter = (host: string) =>
    new Promise<{ status: number; body: string }>((resolve) => {
      // node:http, not fetch: fetch may not set the Host header the router routes by.
      const req = request({ host: "127.0.0.1", port, path: "/", headers: { host }, timeout: 5000 }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("timeout", () => req.destroy(new Error("timed out")));
      req.on("error", (e) => resolve({ status: 0, body: e.message }));
      req.end();
    });

  before(async () => {
    port = await freePort();
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, "render.yaml"), RENDER);
    writeFileSync(join(app, "server.js"), SHOP_SERVER);
    writeFileSync(join(app, "build.js"), GOOD_BUILD);
    mkdirSync(site, { recursive: true });
    writeFileSync(join(site, "berth.yaml"), SITE);
    writeFileSync(join(site, "server.js"), SITE_SERVER);
  });
  after(async () => {
    await berth(["down"], app).catch(() => undefined);
    await berth(["down"], site).catch(() => undefined);
    await stopScratchDaemon(s);
  });

  test("up in a folder with only a render.yaml names the import to run; import, then its next: commands", async () => {
    const first = await berth(["up", "--detach"]);
    assert.equal(first.status, 4, first.stderr);
    const hint = /`(berth import [^`]+)`/.exec(first.stderr)?.[1];
    assert.equal(hint, "berth import render.yaml -o berth.yaml");
    const imported = await berth(argv(hint));
    assert.equal(imported.status, 0, imported.stderr);
    assert.match(readFileSync(join(app, "berth.yaml"), "utf8"), /^project: tiny-shop$/m);
    const [validate, up] = nextCommands(imported.stderr);
    assert.deepEqual([validate, up], ["berth validate", "berth up"]);
    const valid = await berth(argv(validate!));
    assert.equal(valid.status, 0, valid.stderr);
    assert.match(valid.stdout, /berth\.yaml is valid: project tiny-shop, 1 service/);
    // `berth up` runs in the foreground until Ctrl-C, which stops what it started.
    const fg = await untilOutput(spawnIn(argv(up!)), /^next: /m, 120_000);
    assert.equal(fg.status, 0, fg.stderr);
    assert.match(fg.stderr, /\nstopped\n/);
  });

  test("up --detach, then every next: command it prints, verbatim", async () => {
    const up = await berth(["up", "--detach"]);
    assert.equal(up.status, 0, `${up.stdout}\n${up.stderr}`);
    assert.match(up.stdout, /web\s+http:\/\/web-development-tiny-shop\.localhost:\d+/);
    next = nextCommands(up.stdout);
    assert.deepEqual(next, ["berth status", "berth logs web -f", "berth events -f", "berth down"]);
    const status = await berth(argv(next[0]!));
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /tiny-shop\/development\s+live/);
    const logs = await untilOutput(spawnIn(argv(next[1]!)), /shop listening on \d+/);
    assert.equal(logs.status, 0, logs.stderr);
    // The latest build's output (its artifact is cached from the foreground run: a cache hit).
    assert.match(logs.stdout, / build (build: wrote version\.txt|build cache hit: [0-9a-f]+)$/m);
    const events = await untilOutput(spawnIn(argv(next[2]!)), /deploy:live tiny-shop\/development\/web/);
    assert.equal(events.status, 0, events.stderr);
    assert.deepEqual(await viaRouter("web-development-tiny-shop.localhost"), { status: 200, body: "tiny shop v1" });
  });

  test("a second stack in another directory shares the daemon and the router; status --json shows its Redis", async () => {
    const up = await berth(["up", "--detach"], site);
    assert.equal(up.status, 0, `${up.stdout}\n${up.stderr}`);
    assert.deepEqual(await viaRouter("site-development-other-site.localhost"), { status: 200, body: "other site ok" });
    const st = JSON.parse((await berth(["status", "--json"], site)).stdout) as { environments: { project: string; keyValues: { name: string; state: string; address: string }[] }[] };
    assert.deepEqual(st.environments.map((e) => e.project), ["other-site"]); // this directory's stack only
    const cache = st.environments[0]!.keyValues[0]!;
    assert.deepEqual([cache.name, cache.state], ["cache", "running"]);
    assert.match(cache.address, /^127\.0\.0\.1:\d+$/);
    assert.ok(!JSON.stringify(st).includes("redis://"), "no connection URL (and no password) in status");
  });

  test("a broken build: its error lines in up's output and in logs; the last good release keeps serving", async () => {
    writeFileSync(join(app, "build.js"), BROKEN_BUILD);
    const up = await berth(["up", "--detach"]);
    assert.equal(up.status, 1, `${up.stdout}\n${up.stderr}`);
    assert.match(up.stderr, /web: FAILED at build/);
    assert.ok(up.stderr.includes("  | src/cart.ts(14,3): error TS2304: Cannot find name 'totl'.\n  | Found 1 error in src/cart.ts:14\n"), up.stderr);
    const all = /web: all of it: `(berth [^`]+)`/.exec(up.stderr)?.[1];
    assert.equal(all, "berth logs web --build");
    const build = await berth(argv(all!));
    assert.equal(build.status, 0, build.stderr);
    assert.match(build.stdout, /error TS2304: Cannot find name 'totl'/);
    const logs = await berth(["logs", "web"]);
    assert.match(logs.stdout, / build src\/cart\.ts\(14,3\): error TS2304/);
    assert.deepEqual(await viaRouter("web-development-tiny-shop.localhost"), { status: 200, body: "tiny shop v1" });
  });

  test("down stops only its own stack: the other keeps serving during and after; nothing of the first remains", async () => {
    const before = JSON.parse((await berth(["status", "--json"])).stdout) as { environments: { services: { instances: { pid: number | null }[] }[] }[] };
    const pids = before.environments.flatMap((e) => e.services.flatMap((sv) => sv.instances.map((i) => i.pid))).filter((p): p is number => p !== null);
    assert.ok(pids.length > 0 && pids.every(alive), "the first stack's instances run before down");
    const siteStatus = JSON.parse((await berth(["status", "--json"], site)).stdout) as { environments: { keyValues: { address: string }[] }[] };
    const redis = siteStatus.environments[0]!.keyValues[0]!.address.split(":");

    // Probe the other stack through the router all along.
    const probes: { status: number; body: string }[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        probes.push(await viaRouter("site-development-other-site.localhost"));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const down = await berth(argv(next[3]!));
    assert.equal(down.status, 0, down.stderr);
    assert.equal(down.stdout.trim(), "stopped tiny-shop/development; the local daemon keeps running for other-site/development");
    await new Promise((r) => setTimeout(r, 1500));
    probing = false;
    await prober;
    assert.ok(probes.length >= 5, `only ${probes.length} probes`);
    assert.deepEqual(probes.filter((p) => p.status !== 200), [], "the other stack answered every request");
    assert.deepEqual(await viaRouter("site-development-other-site.localhost"), { status: 200, body: "other site ok" });
    const redisUp = await new Promise<boolean>((resolve) => {
      const c = connect(Number(redis[1]), redis[0]!, () => {
        c.end();
        resolve(true);
      });
      c.on("error", () => resolve(false));
    });
    assert.ok(redisUp, "the other stack's Redis still runs");
    assert.deepEqual(pids.filter(alive), [], "the first stack's instances are gone");
    assert.deepEqual(processesWith("BERTH_PROJECT=tiny-shop"), [], "no process of the first stack remains");
    assert.deepEqual(processesWith(app), [], "no process runs from the first stack's directory");
  });

  test("the last down stops the shared daemon, its router and the other stack's Redis", async () => {
    const daemonPid = (JSON.parse(readFileSync(join(s.dataDir, "daemon.json"), "utf8")) as { pid: number }).pid;
    const down = await berth(["down"], site);
    assert.equal(down.status, 0, down.stderr);
    assert.equal(down.stdout.trim(), "stopped other-site/development and the local daemon (no other stack runs)");
    assert.ok(!alive(daemonPid));
    assert.deepEqual(processesWith(s.dataDir).map((p) => p.cmd), [], "nothing runs from the scratch data dir");
    const status = await berth(["status"]);
    assert.equal(status.status, 6);
    assert.match(status.stderr, /the local Berth daemon of .* is not running .*\nhint: Start it again with `berth up`/);
  });
});
