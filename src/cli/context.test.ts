/**
 * The directory context: which daemon, project and environment a command gets, and in which
 * order flags, environment variables, the directory's link and `berth login` win.
 */
import assert from "node:assert/strict";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Command } from "commander";
import { tempDir } from "../../test/helpers/daemon.ts";
import { chooseDaemon, clientFor, defaultContext, resolveDirContext } from "./context.ts";
import { applyDirDefaults, ownContext } from "./defaults.ts";
import { findLink, readLink, writeLink } from "./link.ts";

const LOCAL = (dataDir: string) => ({ kind: "local" as const, dataDir });

/** A private world: a config dir with no login, and a data dir with no daemon. */
function world() {
  const root = tempDir("berth-ctx-");
  const env: NodeJS.ProcessEnv = { XDG_CONFIG_HOME: join(root, "config"), HOME: join(root, "home") };
  return { root, env, login: (url: string, token: string) => {
    mkdirSync(join(root, "config", "berth"), { recursive: true });
    writeFileSync(join(root, "config", "berth", "cli.json"), JSON.stringify({ url, token }));
  } };
}

describe("link files", () => {
  test("written owner-only with a .gitignore, read back, found from a subfolder", () => {
    const dir = tempDir();
    const file = writeLink(dir, { project: "shop", environment: "development", daemon: LOCAL("/d") });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.match(String(statSync(join(dir, ".berth", ".gitignore")).size), /^\d+$/);
    assert.deepEqual(readLink(dir), { project: "shop", environment: "development", daemon: LOCAL("/d"), dir, file });
    mkdirSync(join(dir, "src", "deep"), { recursive: true });
    assert.equal(findLink(join(dir, "src", "deep"))?.project, "shop");
  });

  test("a damaged link is a catalogue error naming the file", () => {
    const dir = tempDir();
    mkdirSync(join(dir, ".berth"));
    writeFileSync(join(dir, ".berth", "link.json"), "{ not json");
    assert.throws(() => readLink(dir), (e: Error & { code?: string }) => e.code === "BERTH_CLI_LINK_INVALID" && e.message.includes(join(dir, ".berth", "link.json")));
  });
});

describe("which daemon", () => {
  test("BERTH_URL, then the link, then `berth login`, then the local daemon of the data dir", () => {
    const w = world();
    const dir = tempDir();
    writeLink(dir, { project: "shop", environment: "development", daemon: { kind: "remote", url: "http://linked:7700" } });
    const link = readLink(dir);
    assert.deepEqual(chooseDaemon({ ...w.env, BERTH_URL: "http://env:1", BERTH_TOKEN: "t" }, link), { kind: "remote", url: "http://env:1", token: "t", from: "BERTH_URL" });
    assert.equal((chooseDaemon(w.env, link) as { url: string }).url, "http://linked:7700");
    w.login("http://linked:7700/", "saved");
    // The token comes from `berth login` for that URL; the link never holds one.
    assert.deepEqual(chooseDaemon(w.env, link), { kind: "remote", url: "http://linked:7700", token: "saved", from: "link" });
    assert.deepEqual(chooseDaemon(w.env, undefined), { kind: "remote", url: "http://linked:7700/", token: "saved", from: "login" });
    const plain = world();
    const local = chooseDaemon({ ...plain.env, BERTH_DATA_DIR: join(plain.root, "data") }, undefined);
    assert.deepEqual([local.kind, local.from], ["local", "BERTH_DATA_DIR"]);
  });

  test("a local link names its data dir; BERTH_DATA_DIR overrides it", () => {
    const w = world();
    const dir = tempDir();
    writeLink(dir, { project: "shop", environment: "development", daemon: LOCAL(join(w.root, "linked-data")) });
    const c = chooseDaemon(w.env, readLink(dir));
    assert.deepEqual([c.kind, c.from, (c as { dataDir: string }).dataDir], ["local", "link", join(w.root, "linked-data")]);
    const o = chooseDaemon({ ...w.env, BERTH_DATA_DIR: join(w.root, "other") }, readLink(dir));
    assert.deepEqual([o.from, (o as { dataDir: string }).dataDir], ["BERTH_DATA_DIR", join(w.root, "other")]);
  });

  test("no way to reach a daemon: errors say which and how to fix it", () => {
    const w = world();
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as { code?: string }).code;
      }
      return "no error";
    };
    assert.equal(code(() => clientFor(chooseDaemon({ ...w.env, BERTH_URL: "http://x:1" }, undefined))), "BERTH_CLI_NO_TOKEN");
    const none = chooseDaemon({ ...w.env, HOME: join(w.root, "nohome") }, undefined);
    // (As root the default data dir is /var/lib/berth: a daemon the machine runs there is found.)
    if (none.kind === "local" && !none.running) assert.equal(code(() => clientFor(none)), "BERTH_CLI_NO_DAEMON");
    const dir = tempDir();
    writeLink(dir, { project: "shop", environment: "development", daemon: LOCAL(join(w.root, "stopped")) });
    const link = readLink(dir)!;
    assert.equal(code(() => clientFor(chooseDaemon(w.env, link), link)), "BERTH_CLI_LOCAL_DAEMON_STOPPED");
  });
});

describe("project and environment defaults", () => {
  test("BERTH_PROJECT/BERTH_ENV beat the link; a link's environment is not applied to another project", () => {
    const w = world();
    const dir = tempDir();
    writeLink(dir, { project: "shop", environment: "development", daemon: LOCAL("/d") });
    const linked = resolveDirContext(dir, w.env);
    assert.deepEqual([linked.project, linked.environment], [{ value: "shop", from: "link" }, { value: "development", from: "link" }]);
    const env = resolveDirContext(dir, { ...w.env, BERTH_ENV: "staging" });
    assert.deepEqual(env.environment, { value: "staging", from: "BERTH_ENV" });
    const other = resolveDirContext(dir, { ...w.env, BERTH_PROJECT: "blog" });
    assert.deepEqual([other.project?.value, other.environment], ["blog", undefined]);
  });

  test("the hook fills --project/--env a command left out; typed flags, --all and opted-out commands keep theirs", () => {
    const w = world();
    const dir = tempDir();
    writeLink(dir, { project: "shop", environment: "development", daemon: LOCAL("/d") });
    const ctx = defaultContext(dir, w.env);
    const cmd = (args: string[], optOut = false) => {
      const program = new Command("berth").exitOverride();
      const c = program.command("logs").option("--project <name>").option("--env <name>", "environment", "production").option("--all").action(() => {});
      if (optOut) ownContext(c);
      program.hook("preAction", (_p, action) => applyDirDefaults(action, ctx));
      program.parse(["logs", ...args], { from: "user" });
      return c.opts();
    };
    assert.deepEqual(cmd([]), { project: "shop", env: "development" });
    assert.deepEqual(cmd(["--env", "staging"]), { project: "shop", env: "staging" });
    assert.deepEqual(cmd(["--project", "blog"]), { project: "blog", env: "production" });
    assert.deepEqual(cmd(["--all"]), { env: "production", all: true });
    assert.deepEqual(cmd([], true), { env: "production" });
  });
});
