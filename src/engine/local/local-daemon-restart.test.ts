import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, test } from "node:test";
import { eventually } from "../contract/engine-contract.ts";
import { ENGINE_ID_VAR } from "./instance-env.ts";
import { processesWithEnv } from "./proc.ts";

interface Report {
  services: { service: string; instances: { id: string; pid?: number; state: string; restarts: number }[] }[];
  events: string[];
}

const root = mkdtempSync(join(tmpdir(), "berth-daemon-"));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

/** Starts the engine in its own process; resolves with it and a reader of its JSON reports. */
function daemon(mode: "deploy" | "adopt"): { child: ChildProcess; next: () => Promise<string> } {
  const child = spawn(process.execPath, [join(import.meta.dirname, "testing", "daemon-harness.ts"), join(root, "state"), root, mode], { stdio: ["pipe", "pipe", "inherit"] });
  children.push(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return { child, next: async () => (await lines.next()).value as string };
}

const argv0 = (pid: number): string | undefined => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0];
  } catch {
    return undefined;
  }
};
const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));

test("kill -9 of the daemon with 10 instances and a singleton: restart finds exactly 10 + 1, never 2 singletons", { timeout: 60_000 }, async () => {
  const first = daemon("deploy");
  const r1 = JSON.parse(await first.next()) as Report;
  const engineId = readFileSync(join(root, "state", "engine-id"), "utf8").trim();
  // Count the apps themselves (not sandbox helpers): live node processes carrying the engine's id.
  const apps = (service?: string) =>
    processesWithEnv(ENGINE_ID_VAR, engineId).filter(
      (p) => (!service || p.env.BERTH_SERVICE === service) && argv0(p.pid) === process.execPath,
    );
  // The engine reports an instance once its sandbox is spawned; on a loaded machine the app
  // inside may still be starting (argv0 still bwrap), so wait for all eleven to be node.
  const elevenApps = (what: string) => eventually(async () => (apps().length === 11 ? true : undefined), 10_000, what);
    // Watch the singleton the whole time: there must never be two.
  let maxSingletons = 0;
  const sampler = setInterval(() => {
    try {
      maxSingletons = Math.max(maxSingletons, apps("scheduler").length);
    } catch {
      // a process vanished between listing and reading: sample again next time
    }
  }, 50);
  try {
    const workers = r1.services.find((s) => s.service === "workers")!.instances;
    const single = r1.services.find((s) => s.service === "scheduler")!.instances;
    assert.equal(workers.length, 10);
    assert.equal(single.length, 1);
    await elevenApps("11 app processes");

    first.child.kill("SIGKILL");
    await new Promise((r) => first.child.once("exit", r));
    for (const i of [...workers, ...single]) assert.ok(alive(i.pid!), `instance ${i.id} survived the daemon`);

    // While no daemon runs, the singleton and one worker die too.
    process.kill(single[0]!.pid!, "SIGKILL");
    process.kill(workers[0]!.pid!, "SIGKILL");

    const second = daemon("adopt");
    JSON.parse(await second.next()) as Report;
    const settled = await eventually(async () => {
      second.child.stdin!.write("report\n");
      const r = JSON.parse(await second.next()) as Report;
      const all = r.services.flatMap((s) => s.instances);
      return all.length === 11 && all.every((i) => i.pid && alive(i.pid) && i.state === "healthy") ? r : undefined;
    }, 10_000, "11 healthy instances");
    const w2 = settled.services.find((s) => s.service === "workers")!.instances;
    const s2 = settled.services.find((s) => s.service === "scheduler")!.instances;
    assert.equal(w2.length, 10);
    assert.equal(s2.length, 1);
    assert.deepEqual(w2.map((i) => i.id).sort(), workers.map((i) => i.id).sort(), "same instances, adopted");
    assert.equal(s2[0]!.id, single[0]!.id);
    assert.notEqual(s2[0]!.pid, single[0]!.pid, "the singleton killed while the daemon was down was restarted");
    assert.equal(settled.events.filter((e) => e === "instance:adopted").length, 9);
    await elevenApps("11 app processes after the restart");
    assert.equal(apps("scheduler").length, 1);

    second.child.stdin!.write("stop\n");
    assert.equal(await second.next(), "stopped");
    assert.equal(apps().length, 0);
  } finally {
    clearInterval(sampler);
  }
  assert.equal(maxSingletons, 1, "never two singletons");
});
