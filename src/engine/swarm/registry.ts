/**
 * The registry Berth runs for its images (Debian `docker-registry`, distribution 2.8) as a child
 * process on loopback: dockerd treats 127.0.0.0/8 registries as insecure-allowed, so no TLS is
 * needed on a single host; nodes of a multi-node swarm reach it through the address it is told
 * to listen on (next slice). Images live under `dataDir`; nothing is pulled from the internet.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface RegistryOptions {
  readonly dataDir: string;
  /** `host:port` to listen on, e.g. `127.0.0.1:5000`. */
  readonly address: string;
  /** Argv put before the registry's own (e.g. `nsenter --net=...` to run it in a test's namespace). */
  readonly wrap?: readonly string[];
  readonly binary?: string;
}

/** Pure: the registry's configuration file. */
export function registryConfig(o: { readonly dataDir: string; readonly address: string }): string {
  return [
    "version: 0.1",
    "log:",
    "  level: warn",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${JSON.stringify(join(o.dataDir, "storage"))}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: ${JSON.stringify(o.address)}`,
    "",
  ].join("\n");
}

/** Pure: the argv that starts the registry. */
export function registryArgv(o: RegistryOptions): string[] {
  return [...(o.wrap ?? []), o.binary ?? "docker-registry", "serve", join(o.dataDir, "config.yml")];
}

export class LocalRegistry {
  readonly #o: RegistryOptions;
  #child: ChildProcess | undefined;
  #stderr = "";

  constructor(options: RegistryOptions) {
    this.#o = options;
  }

  get address(): string {
    return this.#o.address;
  }

  /** Starts the registry; resolves once it has been up for a moment (a bad config exits at once). */
  async start(): Promise<void> {
    mkdirSync(join(this.#o.dataDir, "storage"), { recursive: true, mode: 0o700 });
    writeFileSync(join(this.#o.dataDir, "config.yml"), registryConfig(this.#o), { mode: 0o600 });
    const [cmd, ...args] = registryArgv(this.#o);
    const child = spawn(cmd!, args, { stdio: ["ignore", "ignore", "pipe"] });
    this.#child = child;
    child.stderr!.on("data", (c: Buffer) => {
      this.#stderr = (this.#stderr + c.toString()).slice(-4000);
    });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, 500);
      child.once("exit", (code) => {
        clearTimeout(t);
        reject(new Error(`docker-registry exited with ${code}: ${this.#stderr.trim()}`));
      });
      child.once("error", (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
