/**
 * One smoke test per command of the CLI users run: the compiled `bin/berth`, in a scratch
 * directory with a private HOME and data dir, against the local daemon `berth up` starts (real
 * local engine and HAProxy on a free port). Every command and subcommand found in the compiled
 * CLI's own help has a working --help; every command the README shows and every `berth ...` an
 * error hint names exists with the flags it is shown with.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { catalogue } from "../../src/core/errors.ts";
import { berth as run, type CliRun, freePort, type Scratch, scratch, stopScratchDaemon } from "../helpers/cli.ts";

const README = fileURLToPath(new URL("../../README.md", import.meta.url));

const BLUEPRINT = `version: 1
project: shop
services:
  web:
    type: web
    start: node server.js
    health: { path: / }
  report:
    type: cron
    command: node report.js
    schedule: "0 6 * * *"
environments:
  staging: {}
`;
const SERVER = (greeting: string) =>
  `require("node:http").createServer((q, s) => s.end("${greeting}\\n")).listen(process.env.PORT, () => console.log("web listening on", process.env.PORT));\n`;

/** Command paths of the compiled CLI, from its own help (`["env","set"]`...), with their help text. */
async function discover(s: Scratch, path: string[] = [], out = new Map<string, string>()): Promise<Map<string, string>> {
  const r = await run([...path, "--help"], { scratch: s });
  assert.equal(r.status, 0, `berth ${path.join(" ")} --help: ${r.stderr}`);
  assert.match(r.stdout, new RegExp(`^Usage: berth${path.length ? ` ${path.join(" ")}` : ""}(\\|\\S+)?( |$)`, "m"), `berth ${path.join(" ")} --help`);
  out.set(path.join(" "), r.stdout);
  const section = r.stdout.split(/^Commands:$/m)[1] ?? "";
  for (const m of section.matchAll(/^ {2}([a-z][a-z-]*)(?:\|([a-z-]+))?\b/gm)) {
    if (m[1] === "help") continue;
    await discover(s, [...path, m[1]!], out);
    // An alias (`env|secret`) is a command users type too: its subcommands under both names.
    if (m[2]) {
      const primary = [...path, m[1]!].join(" ");
      for (const [k, v] of [...out]) if (k === primary || k.startsWith(`${primary} `)) out.set([...path, m[2], ...k.split(" ").slice(path.length + 1)].join(" "), v);
    }
  }
  return out;
}

/** Every `berth ...` command line in a text: `bin/berth x` and `berth x`, split at `&&`, `·`, `;`. */
function commandLines(text: string): string[][] {
  const lines: string[][] = [];
  for (const raw of text.split("\n")) {
    for (const part of raw.replace(/\s#.*$/, "").split(/&&|·|;|\|\|/)) {
      const m = /(?:^|\s|`)(?:bin\/)?berth\s+([^`]*)/.exec(part);
      if (m) lines.push(m[1]!.trim().split(/\s+/).filter(Boolean));
    }
  }
  return lines;
}

/** The longest known command path at the start of `words`, or undefined. */
function commandOf(words: readonly string[], known: Map<string, string>): string | undefined {
  for (let n = Math.min(words.length, 3); n >= 1; n--) {
    const path = words.slice(0, n).join(" ");
    if (known.has(path)) return path;
  }
  return words[0]?.startsWith("-") ? "" : undefined; // `berth --help`: the program itself
}

describe("the compiled CLI, command by command", () => {
  const s = scratch("berth-smoke-");
  const shop = join(s.dir, "shop");
  let port = 0;
  let commands = new Map<string, string>();
  const berth = (args: string[], opts: { cwd?: string; stdin?: string; env?: Record<string, string> } = {}): Promise<CliRun> =>
    run(args, { scratch: s, cwd: opts.cwd ?? shop, ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}), env: { BERTH_HTTP_PORT: String(port), ...opts.env } });
  const ok = (r: CliRun, what: string) => assert.equal(r.status, 0, `${what}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);

  before(async () => {
    port = await freePort();
    mkdirSync(shop, { recursive: true });
    writeFileSync(join(shop, "berth.yaml"), BLUEPRINT);
    writeFileSync(join(shop, "server.js"), SERVER("hello v1"));
    writeFileSync(join(shop, "report.js"), 'console.log("report done");\n');
    const up = await berth(["up", "--detach"]);
    ok(up, "berth up --detach");
  });
  after(async () => {
    await berth(["down"]).catch(() => undefined);
    await stopScratchDaemon(s);
  });

  test("every command and subcommand has --help (discovered from the compiled CLI)", async () => {
    commands = await discover(s);
    for (const c of ["up", "down", "deploy", "link", "unlink", "status", "logs", "events", "deploys", "releases", "rollback", "env set", "cron list", "db list", "kv info", "validate", "import", "schema", "login", "token create", "git remote", "audit", "server"]) {
      assert.ok(commands.has(c), `berth ${c} is missing from the compiled CLI`);
    }
  });

  test("every command the README shows exists, with the flags it is shown with", async () => {
    if (commands.size === 0) commands = await discover(s);
    const blocks = [...readFileSync(README, "utf8").matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const lines = blocks.flatMap(commandLines);
    assert.ok(lines.length >= 10, `only ${lines.length} berth commands found in the README`);
    for (const words of lines) {
      const path = commandOf(words, commands);
      assert.ok(path !== undefined, `README: \`berth ${words.join(" ")}\` is not a command`);
      for (const flag of words.filter((w) => /^--?[a-z]/.test(w))) {
        const name = flag.split("=")[0]!;
        assert.ok(new RegExp(`(^|[ ,])${name}\\b`, "m").test(commands.get(path)!), `README: \`berth ${words.join(" ")}\`: ${path} has no ${name}`);
      }
    }
  });

  test("every `berth ...` an error hint names exists, with its flags", async () => {
    if (commands.size === 0) commands = await discover(s);
    for (const [code, spec] of Object.entries(catalogue)) {
      for (const m of spec.hint.matchAll(/`berth ([^`]+)`/g)) {
        const words = m[1]!.split(/\s+/);
        const path = commandOf(words, commands);
        assert.ok(path !== undefined, `${code}: hint names \`berth ${m[1]}\`, which is not a command`);
        for (const flag of words.filter((w) => /^--[a-z]/.test(w))) assert.match(commands.get(path)!, new RegExp(`${flag}\\b`), `${code}: ${path} has no ${flag}`);
      }
    }
  });

  test("up linked the directory: no token in it, a .gitignore beside it", () => {
    const link = JSON.parse(readFileSync(join(shop, ".berth", "link.json"), "utf8"));
    assert.deepEqual(link, { project: "shop", environment: "development", daemon: { kind: "local", dataDir: s.dataDir } });
    assert.match(readFileSync(join(shop, ".berth", ".gitignore"), "utf8"), /^\*$/m);
    const daemon = JSON.parse(readFileSync(join(s.dataDir, "daemon.json"), "utf8"));
    assert.ok(!readFileSync(join(shop, ".berth", "link.json"), "utf8").includes(daemon.token));
    assert.equal(statSync(join(s.dataDir, "daemon.json")).mode & 0o777, 0o600);
  });

  test("status, status --all, status --json (with datastores) and link --show", async () => {
    const st = await berth(["status"]);
    ok(st, "status");
    assert.match(st.stdout, /shop\/development\s+live/);
    assert.match(st.stdout, /web\s+web\s+#1\s+1\/1\s+healthy/);
    const json = JSON.parse((await berth(["status", "--json"])).stdout) as { environments: { project: string; databases: unknown[]; keyValues: unknown[] }[] };
    assert.deepEqual(json.environments.map((e) => [e.project, e.databases, e.keyValues]), [["shop", [], []]]);
    ok(await berth(["status", "--all"], { cwd: s.dir }), "status --all");
    const show = await berth(["link", "--show"]);
    ok(show, "link --show");
    assert.match(show.stdout, /project:\s+shop \(from link\)/);
    assert.match(show.stdout, /environment:\s+development \(from link\)/);
  });

  test("logs (build and instance output), logs --build, events, deploys, releases", async () => {
    const logs = await berth(["logs", "web"]);
    ok(logs, "logs web");
    assert.match(logs.stdout, /web listening on \d+/);
    ok(await berth(["logs", "web", "--build"]), "logs web --build");
    const events = await berth(["events", "-n", "5"]);
    ok(events, "events");
    assert.match(events.stdout, /shop\/development/);
    const deploys = await berth(["deploys"]);
    ok(deploys, "deploys");
    assert.match(deploys.stdout, /web\s+#1\s+live/);
    const releases = await berth(["releases", "web"]);
    ok(releases, "releases web");
    assert.match(releases.stdout, /#1\s+\S+\s+\S+\s+current/);
  });

  test("a second up cuts release #2; rollback returns to #1", async () => {
    writeFileSync(join(shop, "server.js"), SERVER("hello v2"));
    ok(await berth(["up", "--detach"]), "up again");
    const rb = await berth(["rollback", "web"]);
    ok(rb, "rollback web");
    assert.match(rb.stdout, /rolling web back to release #1/);
  });

  test("env set (value from stdin), list, get, unset; env groups; data key rotation", async () => {
    const set = await berth(["env", "set", "web", "GREETING=-"], { stdin: "smoke-value-42\n" });
    ok(set, "env set");
    assert.match(set.stdout, /set GREETING for service:web \(development\)/);
    const list = await berth(["env", "list"]);
    ok(list, "env list");
    assert.match(list.stdout, /GREETING\s+service:web\s+development/);
    assert.doesNotMatch(list.stdout, /smoke-value-42/);
    assert.equal((await berth(["env", "get", "web", "GREETING"])).stdout, "smoke-value-42\n");
    ok(await berth(["env", "unset", "web", "GREETING"]), "env unset");
    ok(await berth(["env", "group", "create", "ext"]), "env group create");
    assert.match((await berth(["env", "group", "list"])).stdout, /^ext\s/m);
    ok(await berth(["env", "group", "rm", "ext"]), "env group rm");
    ok(await berth(["env", "rotate"]), "env rotate");
  });

  test("cron list, run --wait, runs", async () => {
    const list = await berth(["cron", "list"]);
    ok(list, "cron list");
    assert.match(list.stdout, /shop\/development\/report\s+0 6 \* \* \* UTC/);
    const runNow = await berth(["cron", "run", "report", "--wait"]);
    ok(runNow, "cron run --wait");
    assert.match(runNow.stdout, /shop\/development\/report: succeeded \(exit 0\)/);
    assert.match((await berth(["cron", "runs", "report"])).stdout, /manual\s+1\s+succeeded/);
  });

  test("db list and kv info say plainly that the stack declares none", async () => {
    const db = await berth(["db", "list"]);
    ok(db, "db list");
    assert.match(db.stdout, /shop\/development declares no databases or key-value stores/);
    const kv = await berth(["kv", "info"]);
    assert.equal(kv.status, 2, kv.stderr);
    assert.match(kv.stderr, /shop\/development declares no key-value store/);
  });

  test("audit, tokens, git remote and webhook secret", async () => {
    ok(await berth(["audit", "-n", "3"]), "audit");
    const created = await berth(["token", "create", "ci", "--role", "viewer", "--json"]);
    ok(created, "token create");
    assert.deepEqual(JSON.parse(created.stdout).projects ?? [], []); // not scoped to the linked project
    assert.match((await berth(["token", "list"])).stdout, /ci\s+viewer\s+\*/);
    ok(await berth(["token", "revoke", "ci"]), "token revoke");
    const remote = await berth(["git", "remote"]);
    ok(remote, "git remote");
    assert.equal(remote.stdout.trim(), join(s.dataDir, "git", "shop.git"));
    ok(await berth(["git", "webhook-secret"]), "git webhook-secret");
  });

  test("validate, import (names the project after its folder) and schema", async () => {
    ok(await berth(["validate"]), "validate");
    const acme = join(s.dir, "acme-store");
    mkdirSync(acme);
    writeFileSync(join(acme, "render.yaml"), "services:\n  - type: web\n    name: api\n    runtime: node\n    startCommand: node server.js\n");
    const imported = await berth(["import", "render.yaml", "-o", "berth.yaml"], { cwd: acme });
    ok(imported, "import");
    assert.match(readFileSync(join(acme, "berth.yaml"), "utf8"), /^project: acme-store$/m);
    assert.match(imported.stderr, /next: berth validate · berth up/);
    assert.ok(JSON.parse((await berth(["schema"])).stdout).properties.services);
  });

  test("deploy --env staging beside development; logs --env staging; down --env staging keeps the daemon", async () => {
    const d = await berth(["deploy", "--env", "staging"]);
    ok(d, "deploy --env staging");
    assert.match(d.stdout, /shop\/staging\s+live/);
    assert.match((await berth(["logs", "web", "--env", "staging"])).stdout, /web listening on/);
    const down = await berth(["down", "--env", "staging"]);
    ok(down, "down --env staging");
    assert.match(down.stdout, /stopped shop\/staging; the local daemon keeps running for shop\/development/);
  });

  test("unlink and link again; login makes the daemon reachable from any directory", async () => {
    ok(await berth(["unlink"]), "unlink");
    assert.ok(!existsSync(join(shop, ".berth", "link.json")));
    const linked = await berth(["link"]);
    ok(linked, "link");
    assert.match(linked.stdout, /-> shop\/development on local daemon/);
    const daemon = JSON.parse(readFileSync(join(s.dataDir, "daemon.json"), "utf8")) as { url: string; token: string };
    const elsewhere = join(s.dir, "elsewhere");
    mkdirSync(elsewhere);
    const empty = { BERTH_DATA_DIR: join(s.dir, "no-daemon-here") };
    const none = await berth(["status"], { cwd: elsewhere, env: empty });
    assert.equal(none.status, 6, none.stderr);
    assert.match(none.stderr, /not running \(data dir .*no-daemon-here\) \[BERTH_CLI_LOCAL_DAEMON_STOPPED\]/);
    ok(await berth(["login", "--url", daemon.url, "--token", daemon.token], { cwd: elsewhere }), "login");
    assert.equal(statSync(join(s.home, ".config", "berth", "cli.json")).mode & 0o777, 0o600);
    const st = await berth(["status", "--json"], { cwd: elsewhere, env: empty });
    ok(st, "status after login");
    assert.ok(JSON.parse(st.stdout).environments.some((e: { project: string }) => e.project === "shop"));
  });

  test("usage errors: one line naming the nearest command or flag", async () => {
    const cmd = await berth(["stauts"]);
    assert.equal(cmd.status, 2);
    assert.match(cmd.stderr, /unknown command 'stauts' \(did you mean status\?\)/);
    const flag = await berth(["logs", "web", "--folow"]);
    assert.equal(flag.status, 2);
    assert.match(flag.stderr, /--follow/);
  });

  test("down stops the stack and, with nothing else running, the local daemon", async () => {
    const pid = (JSON.parse(readFileSync(join(s.dataDir, "daemon.json"), "utf8")) as { pid: number }).pid;
    const down = await berth(["down"]);
    ok(down, "down");
    assert.match(down.stdout, /stopped shop\/development and the local daemon \(no other stack runs\)/);
    assert.throws(() => process.kill(pid, 0));
    const again = await berth(["down"]);
    ok(again, "down again");
    assert.match(again.stdout, /nothing to stop/);
  });
});
