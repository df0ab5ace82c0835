/** The pure parts of the Swarm engine, without a daemon: service bodies, env files, task -> instance mapping, log lines, tar. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buffer } from "node:stream/consumers";
import { test } from "node:test";
import { contractSpec } from "../contract/contract-fixture.ts";
import type { Release, ServiceRef } from "../engine.ts";
import { appDockerfile, parseLdd, runtimeDockerfile, tagOf } from "./image.ts";
import { type DockerTask, instancesOf, timeKey } from "./instances.ts";
import { parseLogLine } from "./logs.ts";
import { registryArgv, registryConfig } from "./registry.ts";
import { generationOf, planSwarmService, renderEnvFile, swarmServiceName, taskCommand } from "./service-spec.ts";
import { tarStream } from "./tar.ts";

const ref: ServiceRef = { project: "shop", environment: "staging", service: "api" };
const release: Release = { id: "rel_1", number: 1, service: ref, artifact: { kind: "dir", path: "/x", digest: "d1" }, sealedEnv: "" };
const opts = { namespace: "berth", image: "127.0.0.1:5000/berth/shop-api:d1@sha256:abc", secret: { name: "s", id: "sid" }, drainMs: 2000, restartDelayMs: 1000, minHealthIntervalMs: 500 };

test("a web service: start-first update rolling back on failure, dnsrr, host-mode port, limits, env secret, overlay aliases", () => {
  const body = planSwarmService(contractSpec(ref, "npm start", { health: { ...contractSpec(ref, "").health, path: "/health" } }), release, { kind: "start-first", maxSurge: 2 }, opts) as any;
  assert.equal(body.Name, "berth_shop_staging_api");
  assert.deepEqual(body.Mode, { Replicated: { Replicas: 2 } });
  assert.equal(body.UpdateConfig.Order, "start-first");
  assert.equal(body.UpdateConfig.FailureAction, "rollback");
  assert.equal(body.UpdateConfig.Parallelism, 2);
  assert.equal(body.RollbackConfig.FailureAction, "pause");
  assert.deepEqual(body.EndpointSpec, { Mode: "dnsrr", Ports: [{ Protocol: "tcp", TargetPort: 10000, PublishMode: "host" }] });
  const c = body.TaskTemplate.ContainerSpec;
  assert.equal(c.Image, opts.image);
  assert.deepEqual(c.Command.slice(0, 2), ["/bin/sh", "-c"]);
  assert.ok(c.Env.includes("PORT=10000") && c.Env.includes("BERTH_HEALTH_PATH=/health") && c.Env.includes("BERTH_START=npm start"));
  assert.deepEqual(c.Healthcheck.Test, ["CMD", "/usr/local/bin/node", "/berth/probe.cjs"]);
  assert.equal(c.Healthcheck.Interval, 500e6, "never more often than the minimum interval");
  assert.deepEqual(c.Secrets, [{ SecretID: "sid", SecretName: "s", File: { Name: "berth-env", UID: "65534", GID: "65534", Mode: 0o400 } }]);
  assert.equal(c.User, "65534:65534");
  assert.equal(c.StopGracePeriod, (2000 + 2000) * 1e6);
  assert.deepEqual(body.TaskTemplate.Resources.Limits, { MemoryBytes: 512 * 1024 ** 2, Pids: 512 });
  assert.deepEqual(body.TaskTemplate.Networks, [{ Target: "berth_shop_staging", Aliases: ["api.staging.internal", "api"] }]);
  assert.deepEqual(body.TaskTemplate.RestartPolicy, { Condition: "any", Delay: 1000e6 });
});

test("a singleton worker: one replica, stop-first whatever was asked, no port, no health probe, its restart policy", () => {
  const spec = contractSpec(ref, "node worker.js", { kind: "worker", listens: false, singleton: true, replicas: 4, restart: { policy: "on-failure", maxRetries: 3 }, limits: { cpuMillicores: 500 } });
  const body = planSwarmService(spec, release, { kind: "start-first", maxSurge: 2 }, opts) as any;
  assert.deepEqual(body.Mode, { Replicated: { Replicas: 1 } });
  assert.equal(body.UpdateConfig.Order, "stop-first");
  assert.deepEqual(body.EndpointSpec.Ports, []);
  assert.deepEqual(body.TaskTemplate.ContainerSpec.Healthcheck, { Test: ["NONE"] });
  assert.ok(!body.TaskTemplate.ContainerSpec.Env.some((e: string) => e.startsWith("PORT=")));
  assert.deepEqual(body.TaskTemplate.RestartPolicy, { Condition: "on-failure", Delay: 1000e6, MaxAttempts: 3 });
  assert.equal(body.TaskTemplate.Resources.Limits.NanoCPUs, 500e6);
});

test("generations change with the release or the spec, not with the replica count", () => {
  const spec = contractSpec(ref, "a");
  assert.equal(generationOf(spec, release), generationOf({ ...spec, replicas: 7 }, release));
  assert.notEqual(generationOf(spec, release), generationOf({ ...spec, start: "b" }, release));
  assert.notEqual(generationOf(spec, release), generationOf(spec, { ...release, id: "rel_2" }));
  assert.ok(swarmServiceName("berth", { ...ref, service: "x".repeat(80) }).length <= 63);
});

test("the env file survives any value through the shell; engine variables stay out; bad names are refused", () => {
  const text = renderEnvFile(ref, { B: "it's $HOME `x`\nnext", A: "1", PORT: "99" }, new Set(["PORT"]));
  assert.equal(text, "export A='1'\nexport B='it'\\''s $HOME `x`\nnext'\n");
  const out = execFileSync("/bin/sh", ["-c", `${text}printf '%s' "$B"`]).toString();
  assert.equal(out, "it's $HOME `x`\nnext");
  assert.throws(() => renderEnvFile(ref, { "a-b": "1" }, new Set()), { code: "BERTH_SWARM_ENV_INVALID" });
});

test("the task wrapper passes the start line's exit code and drains before forwarding SIGTERM", () => {
  const [sh, c, script] = taskCommand(100);
  assert.equal(sh, "/bin/sh");
  const dir = mkdtempSync(join(tmpdir(), "berth-wrap-"));
  try {
    writeFileSync(join(dir, "env"), "export X='1'\n");
    const local = script!.replace("/run/secrets/berth-env", join(dir, "env"));
    const r = (() => {
      try {
        execFileSync(sh!, [c!, local], { env: { BERTH_START: 'test "$X" = 1 && exit 3', PATH: process.env.PATH } });
        return 0;
      } catch (e) {
        return (e as { status: number }).status;
      }
    })();
    assert.equal(r, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const task = (over: Partial<DockerTask> & { slot: number; gen: string; state: string; desired?: string; at: string; port?: number; exit?: number }): DockerTask => ({
  ID: `t-${over.slot}-${over.gen}-${over.at}`,
  ServiceID: "svc",
  NodeID: "n1",
  Slot: over.slot,
  CreatedAt: over.at,
  DesiredState: over.desired ?? "running",
  Spec: { ContainerSpec: { Labels: { "berth.generation": over.gen, "berth.release-number": over.gen === "g2" ? "2" : "1", "berth.release-id": `rel_${over.gen}` } } },
  Status: {
    Timestamp: over.at,
    State: over.state,
    ContainerStatus: { ContainerID: "c", PID: over.state === "running" ? 42 : 0, ...(over.exit !== undefined ? { ExitCode: over.exit } : {}) },
    ...(over.port ? { PortStatus: { Ports: [{ TargetPort: 10000, PublishedPort: over.port }] } } : {}),
  },
});

test("tasks -> instances: a slot's replacement task is the same instance restarted; Swarm's stopping tasks are gone", () => {
  const spec = contractSpec(ref, "x");
  const tasks = [
    task({ slot: 1, gen: "g1", state: "failed", desired: "shutdown", at: "2026-01-01T00:00:01Z", exit: 137 }),
    task({ slot: 1, gen: "g1", state: "running", at: "2026-01-01T00:00:02.5Z", port: 30001 }),
    task({ slot: 2, gen: "g1", state: "running", desired: "shutdown", at: "2026-01-01T00:00:01Z", port: 30002 }),
    task({ slot: 2, gen: "g2", state: "starting", at: "2026-01-01T00:00:03Z" }),
  ];
  const list = instancesOf({ spec, generation: "g2", tasks, nodeAddr: () => "10.0.0.5" });
  assert.deepEqual(list.map((i) => [i.id, i.state, i.restarts, i.endpoint?.port]), [
    ["api.1.g1", "healthy", 1, 30001],
    ["api.2.g2", "starting", 0, undefined],
  ]);
  assert.deepEqual(list[0]!.endpoint, { host: "10.0.0.5", port: 30001 });
  assert.deepEqual(list[0]!.lastExit && { code: list[0]!.lastExit.code, signal: list[0]!.lastExit.signal }, { code: null, signal: "SIGKILL" });
});

test("tasks -> instances: tasks a rollback creates and calls off at once are not the instance, nor restarts", () => {
  const spec = contractSpec(ref, "x");
  const tasks = [
    task({ slot: 1, gen: "g1", state: "running", at: "2026-01-01T00:00:01Z", port: 30001 }),
    task({ slot: 1, gen: "g1", state: "pending", desired: "shutdown", at: "2026-01-01T00:00:05Z" }),
    task({ slot: 1, gen: "g2", state: "failed", desired: "shutdown", at: "2026-01-01T00:00:03Z", exit: 1 }),
  ];
  const list = instancesOf({ spec, generation: "g1", tasks, nodeAddr: () => "127.0.0.1" });
  assert.deepEqual(list.map((i) => [i.id, i.state, i.restarts, i.endpoint?.port]), [["api.1.g1", "healthy", 0, 30001]]);
});

test("tasks -> instances: restart policy never leaves an exited instance of the current generation", () => {
  const spec = contractSpec(ref, "x", { restart: { policy: "never" } });
  const list = instancesOf({ spec, generation: "g1", tasks: [task({ slot: 1, gen: "g1", state: "failed", desired: "shutdown", at: "2026-01-01T00:00:01Z", exit: 1 })], nodeAddr: () => "127.0.0.1" });
  assert.deepEqual(list.map((i) => [i.state, i.restarts, i.lastExit?.code]), [["exited", 0, 1]]);
});

test("timestamps with trimmed nanoseconds sort in time order", () => {
  assert.ok(timeKey("2026-01-01T00:00:20.7Z") < timeKey("2026-01-01T00:00:20.71Z"));
  assert.ok(timeKey("2026-01-01T00:00:20Z") < timeKey("2026-01-01T00:00:20.000000001Z"));
});

test("log lines with details carry their task id", () => {
  assert.deepEqual(parseLogLine("2026-12-06T01:46:18.639324999Z com.docker.swarm.node.id=n,com.docker.swarm.service.id=s,com.docker.swarm.task.id=t1 hello world"), { at: "2026-12-06T01:46:18.639Z", taskId: "t1", text: "hello world" });
  assert.deepEqual(parseLogLine("2026-12-06T01:46:18Z plain"), { at: "2026-12-06T01:46:18.000Z", text: "plain" });
  assert.equal(parseLogLine("garbage"), undefined);
});

test("images: Dockerfiles, ldd parsing, tags; the registry's argv and config", () => {
  assert.match(runtimeDockerfile(), /^FROM scratch\n/);
  assert.match(runtimeDockerfile(), /HEALTHCHECK .*CMD \["\/usr\/local\/bin\/node", "\/berth\/probe.cjs"\]/);
  assert.equal(appDockerfile("berth/runtime-node:abc"), "FROM berth/runtime-node:abc\nCOPY --chown=65534:65534 app/ /app/\nWORKDIR /app\n");
  assert.deepEqual(parseLdd("\tlinux-vdso.so.1 (0x1)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x2)\n\t/lib64/ld-linux-x86-64.so.2 (0x3)\n"), ["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]);
  assert.equal(tagOf("sha256:ab/cd"), "ab-cd");
  assert.deepEqual(registryArgv({ dataDir: "/d", address: "127.0.0.1:5000", wrap: ["nsenter", "--net=/x", "--"] }), ["nsenter", "--net=/x", "--", "docker-registry", "serve", "/d/config.yml"]);
  assert.match(registryConfig({ dataDir: "/d", address: "127.0.0.1:5000" }), /addr: "127.0.0.1:5000"/);
});

test("tar streams list and extract with the system tar, long names included", async () => {
  const long = `app/${"deep/".repeat(30)}file.txt`;
  const tar = await buffer(tarStream([
    { kind: "dir", name: "app", mode: 0o755 },
    { kind: "data", name: "app/a.txt", data: Buffer.from("hello"), mode: 0o644 },
    { kind: "data", name: long, data: Buffer.from("deep"), mode: 0o600 },
    { kind: "symlink", name: "app/link", target: "a.txt" },
  ]));
  const listed = execFileSync("tar", ["-tf", "-"], { input: tar }).toString().trim().split("\n");
  assert.deepEqual(listed, ["app/", "app/a.txt", long, "app/link"]);
  assert.equal(execFileSync("tar", ["-xOf", "-", long], { input: tar }).toString(), "deep");
});
