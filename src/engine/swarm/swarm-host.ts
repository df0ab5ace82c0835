/**
 * The daemon's Swarm engine, started on first use (issue 20): when the first environment naming
 * `engine: swarm` is synced, or at daemon start when one is recorded. Starting it means: the
 * configured dockerd answers and is a swarm manager, Berth's registry runs (started here as a
 * child unless one already answers at the address), then the engine adopts what runs. A failed
 * start is reported with the reason and retried at the next use.
 */
import { request } from "node:http";
import { join } from "node:path";
import { BerthError } from "../../core/errors.ts";
import type { Engine, EngineDeps } from "../engine.ts";
import type { LazyEngine } from "../per-environment.ts";
import { DockerApi } from "./docker-api.ts";
import { LocalRegistry } from "./registry.ts";
import { SwarmEngine } from "./swarm-engine.ts";

export interface SwarmHostOptions extends EngineDeps {
  /** The manager's Docker socket (BERTH_DOCKER_HOST). */
  readonly dockerSocket: string;
  /** `host:port` Berth's registry listens on; every node must reach it (BERTH_SWARM_REGISTRY). */
  readonly registry: string;
  /** Where the registry keeps its images. */
  readonly dataDir: string;
  readonly namespace?: string;
}

/** Whether a registry already answers at `address` (`GET /v2/`): a daemon restart finds its old one. */
function registryAnswers(address: string): Promise<boolean> {
  const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.slice(address.lastIndexOf(":") + 1))];
  return new Promise((resolve) => {
    const r = request({ host, port, path: "/v2/", timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    r.on("timeout", () => r.destroy());
    r.on("error", () => resolve(false));
    r.end();
  });
}

export class SwarmHost implements LazyEngine {
  readonly #o: SwarmHostOptions;
  #starting: Promise<SwarmEngine> | undefined;
  #engine: SwarmEngine | undefined;
  #registry: LocalRegistry | undefined;

  constructor(options: SwarmHostOptions) {
    this.#o = options;
  }

  current(): Engine | undefined {
    return this.#engine;
  }

  get(): Promise<Engine> {
    this.#starting ??= this.#start().catch((e: unknown) => {
      this.#starting = undefined;
      throw e;
    });
    return this.#starting;
  }

  /** Why the swarm engine cannot run, or undefined when it does (starts it). */
  async problem(): Promise<string | undefined> {
    try {
      await this.get();
      return undefined;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }

  async #start(): Promise<SwarmEngine> {
    const docker = new DockerApi(this.#o.dockerSocket);
    const info = await docker.json<{ Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } }>({ path: "/info" }).catch((e: unknown) => {
      throw new BerthError("BERTH_SWARM_API_FAILED", { method: "GET", path: "/info", status: 0, detail: `no dockerd answers at ${this.#o.dockerSocket} (${e instanceof BerthError ? String(e.params.detail) : String(e)})` });
    });
    if (info.Swarm?.LocalNodeState !== "active" || !info.Swarm.ControlAvailable) {
      throw new BerthError("BERTH_SWARM_API_FAILED", { method: "GET", path: "/info", status: 200, detail: `the dockerd at ${this.#o.dockerSocket} is not a swarm manager (swarm state: ${info.Swarm?.LocalNodeState || "inactive"})` });
    }
    if (!this.#registry && !(await registryAnswers(this.#o.registry))) {
      const registry = new LocalRegistry({ dataDir: join(this.#o.dataDir, "registry"), address: this.#o.registry });
      await registry.start();
      this.#registry = registry;
    }
    const engine = new SwarmEngine({ docker, registry: this.#o.registry, events: this.#o.events, openEnv: this.#o.openEnv, ...(this.#o.redact ? { redact: this.#o.redact } : {}), ...(this.#o.namespace ? { namespace: this.#o.namespace } : {}) });
    await engine.start();
    this.#engine = engine;
    return engine;
  }

  async stop(options: { readonly stopInstances: boolean }): Promise<void> {
    const starting = this.#starting;
    this.#starting = undefined;
    await starting?.catch(() => undefined);
    await this.#engine?.stop(options);
    this.#engine = undefined;
    await this.#registry?.stop();
    this.#registry = undefined;
  }
}
