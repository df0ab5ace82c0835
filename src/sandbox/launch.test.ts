import assert from "node:assert/strict";
import { test } from "node:test";
import { ancestors, CGROUP_ENTER_SCRIPT, planLaunch } from "./launch.ts";

test("unsandboxed: /bin/sh -c START in the release dir, env passed through execve", () => {
  const plan = planLaunch({ command: "npm start", cwd: "/rel/1", env: { PORT: "20000", SECRET: "s3" }, disks: [], isolation: { kind: "none" } });
  assert.deepEqual(plan, { file: "/bin/sh", args: ["-c", "npm start"], env: { PORT: "20000", SECRET: "s3" }, cwd: "/rel/1" });
});

test("sandboxed: cgroup entry, bubblewrap binds, then setpriv to the project user; secrets never in argv", () => {
  const plan = planLaunch({
    command: "node server.js",
    cwd: "/data/rel/1",
    env: { SECRET: "s3cr3t" },
    disks: [{ hostPath: "/state/disks/p/e/s/data", mountPath: "/var/data" }],
    isolation: { kind: "sandbox", uid: 990, gid: 990, readOnlyPaths: ["/opt/node"], cgroupProcs: ["/sys/fs/cgroup/memory/berth/in_1/cgroup.procs"] },
  });
  assert.equal(plan.file, "/bin/sh");
  assert.deepEqual(plan.args, [
    "-c", CGROUP_ENTER_SCRIPT, "berth-cgroup-enter", "1", "/sys/fs/cgroup/memory/berth/in_1/cgroup.procs",
    "bwrap",
    "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
    "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--ro-bind", "/etc", "/etc",
    "--dev", "/dev", "--proc", "/proc", "--perms", "1777", "--tmpfs", "/tmp",
    "--perms", "0755", "--dir", "/opt", "--ro-bind", "/opt/node", "/opt/node",
    "--perms", "0755", "--dir", "/data", "--perms", "0755", "--dir", "/data/rel", "--bind", "/data/rel/1", "/data/rel/1",
    "--perms", "0755", "--dir", "/var", "--bind", "/state/disks/p/e/s/data", "/var/data",
    "--remount-ro", "/", "--chdir", "/data/rel/1", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
    "setpriv", "--reuid=990", "--regid=990", "--clear-groups", "--no-new-privs",
    "/bin/sh", "-c", "node server.js",
  ]);
  assert.ok(!plan.args.some((a) => a.includes("s3cr3t")));
  assert.equal(plan.env.SECRET, "s3cr3t");
});

test("ancestors lists the directories a mount point needs, outermost first", () => {
  assert.deepEqual(ancestors("/a/b/c"), ["/a", "/a/b"]);
  assert.deepEqual(ancestors("/a"), []);
});
