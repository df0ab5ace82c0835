import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { type ContractFixture, RecordedEvents, contractRedact, listeningGate, runEngineContract } from "../contract/engine-contract.ts";
import { LocalEngine } from "./local-engine.ts";
import { makeRelease, NODE, openTestEnv, startOf } from "./testing/test-apps.ts";

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

async function fixture(sandbox?: boolean): Promise<ContractFixture> {
  const root = mkdtempSync(join(tmpdir(), "berth-local-"));
  roots.push(root);
  const events = new RecordedEvents();
  const engine = new LocalEngine({ stateDir: join(root, "state"), events, openEnv: openTestEnv, redact: contractRedact, portRange: { first: 31_000, last: 31_999 }, ...(sandbox === undefined ? {} : { sandbox }) });
  await engine.start();
  return {
    engine,
    events,
    health: listeningGate,
    release: async (ref, number, greeting = "hi") => makeRelease(root, ref, number, { GREETING: greeting }),
    sealedRelease: async (ref, number) => ({ ...makeRelease(root, ref, number), sealedEnv: "BROKEN" }),
    startCommand: (app) => (app === "ok" ? startOf("app.cjs") : startOf("crash.cjs")),
    taskCommand: (t) =>
      t.kind === "print-env"
        ? `exec ${NODE} -e 'console.log(process.env[process.argv[1]])' ${t.name}`
        : t.kind === "exit"
          ? `exit ${t.code}`
          : `exec ${NODE} -e 'setInterval(() => {}, 1000)'`,
    kill: async (ref, id) => {
      const inst = (await engine.actual(ref)).flatMap((s) => s.instances).find((i) => i.id === id);
      if (inst?.pid) process.kill(inst.pid, "SIGKILL");
    },
    cleanup: () => engine.stop({ stopInstances: true }),
  };
}

runEngineContract(process.getuid?.() === 0 ? "local (sandboxed, as root)" : "local", () => fixture());
// As root, the plain path (what non-root users get) passes the same contract.
if (process.getuid?.() === 0) runEngineContract("local (unsandboxed)", () => fixture(false));
