/**
 * Where an instance's files live and what its environment holds besides the release's own
 * variables: PORT for listeners, BERTH_* identity (also used to find unrecorded processes after
 * a crash of the daemon), and one BERTH_DISK_<NAME> per disk.
 */
import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { DiskSpec, Release, ServiceRef } from "../engine.ts";
import type { DiskMount } from "../../sandbox/launch.ts";

export const ENGINE_ID_VAR = "BERTH_ENGINE_ID";
export const INSTANCE_ID_VAR = "BERTH_INSTANCE_ID";
const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

export function serviceDir(root: string, ref: ServiceRef): string {
  return join(root, ref.project, ref.environment, ref.service);
}

/** `uploads` -> `BERTH_DISK_UPLOADS`. */
export function diskVar(name: string): string {
  return `BERTH_DISK_${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

/** Where a disk appears to the process: relative mount paths are inside the release directory. */
export function diskMountPath(disk: DiskSpec, releaseDir: string): string {
  return isAbsolute(disk.mountPath) ? disk.mountPath : join(releaseDir, disk.mountPath);
}

/**
 * Makes the disks' host directories (they outlive every release) and says where each appears.
 * Unsandboxed there is no mount namespace: the env var names the host directory and a relative
 * mount path gets a symlink inside the release directory.
 */
export function prepareDisks(disksRoot: string, ref: ServiceRef, disks: readonly DiskSpec[], releaseDir: string, sandboxed: boolean): DiskMount[] {
  return disks.map((disk) => {
    const hostPath = join(serviceDir(disksRoot, ref), disk.name);
    mkdirSync(hostPath, { recursive: true, mode: 0o700 });
    const mountPath = diskMountPath(disk, releaseDir);
    if (!sandboxed && !isAbsolute(disk.mountPath) && !existsSync(mountPath)) symlinkSync(hostPath, mountPath);
    return { hostPath, mountPath: sandboxed ? mountPath : hostPath };
  });
}

export interface EnvInput {
  readonly opened: Readonly<Record<string, string>>;
  readonly extra?: Readonly<Record<string, string>>;
  readonly engineId: string;
  readonly instanceId: string;
  readonly ref: ServiceRef;
  readonly release: Release;
  readonly port?: number;
  readonly disks: readonly { readonly name: string; readonly path: string }[];
}

/**
 * The full environment of a process. BERTH_* identity wins over user variables of the same name.
 * The release's runtime (the Node / virtualenv its build used) comes first on PATH, whatever PATH
 * the service sets, and its variables (VIRTUAL_ENV) apply unless the service sets them itself.
 */
export function instanceEnv(input: EnvInput): Record<string, string> {
  const runtime = input.release.artifact.kind === "dir" ? input.release.artifact.runtime : undefined;
  const env: Record<string, string> = { PATH: DEFAULT_PATH, ...(runtime?.env ?? {}), ...input.opened, ...(input.extra ?? {}) };
  if (runtime && runtime.path.length > 0) env.PATH = [...runtime.path, env.PATH].join(":");
  if (input.port !== undefined) env.PORT = String(input.port);
  for (const d of input.disks) env[diskVar(d.name)] = d.path;
  env.BERTH_PROJECT = input.ref.project;
  env.BERTH_ENVIRONMENT = input.ref.environment;
  env.BERTH_SERVICE = input.ref.service;
  env.BERTH_RELEASE = String(input.release.number);
  env[INSTANCE_ID_VAR] = input.instanceId;
  env[ENGINE_ID_VAR] = input.engineId;
  return env;
}
