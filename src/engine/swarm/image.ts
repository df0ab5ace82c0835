/**
 * Images from a release, with nothing pulled from a public registry (none is reachable here):
 *
 * 1. a runtime image per Node binary, `FROM scratch` + that binary + the libraries `ldd` lists +
 *    dash as /bin/sh (the start command is a shell line) + `sleep` (the drain wrapper) + Berth's
 *    health probe, exec-form HEALTHCHECK; built once, kept by content hash;
 * 2. an app image per artifact digest: `FROM` the runtime image + the release directory in /app;
 * 3. pushed to Berth's registry (a loopback `docker-registry`), so every node pulls the same bytes;
 *    services name it `registry/repo:tag@sha256:digest`.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { BerthError } from "../../core/errors.ts";
import type { Release } from "../engine.ts";
import { type DockerApi, filters } from "./docker-api.ts";
import { dirEntries, type TarEntry, tarStream } from "./tar.ts";

const run = promisify(execFile);

/** The uid/gid every task runs as (nobody): no image ships a writable root-owned file. */
export const TASK_USER = "65534:65534";
export const NODE_IN_IMAGE = "/usr/local/bin/node";
export const PROBE_IN_IMAGE = "/berth/probe.cjs";

/**
 * The health probe the images carry (exec form: there is no shell in a check). Workers (no PORT)
 * are healthy while alive; listeners when `BERTH_HEALTH_PATH` answers 2xx/3xx on 127.0.0.1:$PORT,
 * or, without a path, when the port accepts a connection.
 */
export const PROBE_SCRIPT = `const port = Number(process.env.PORT || 0);
const path = process.env.BERTH_HEALTH_PATH;
const timeout = Number(process.env.BERTH_HEALTH_TIMEOUT_MS || 2000);
const fail = (why) => { console.error(why); process.exit(1); };
setTimeout(() => fail("timed out"), timeout).unref();
if (!port) process.exit(0);
if (path) {
  require("node:http").get({ host: "127.0.0.1", port, path, timeout }, (res) => {
    res.resume();
    if (res.statusCode >= 200 && res.statusCode < 400) process.exit(0);
    fail("HTTP " + res.statusCode);
  }).on("error", (e) => fail(e.message));
} else {
  require("node:net").connect(port, "127.0.0.1").on("connect", () => process.exit(0)).on("error", (e) => fail(e.message));
}
`;

/** Pure: the runtime image's Dockerfile. */
export function runtimeDockerfile(): string {
  return [
    "FROM scratch",
    "COPY rootfs/ /",
    "ENV PATH=/usr/local/bin:/bin",
    `USER ${TASK_USER}`,
    `HEALTHCHECK --interval=5s --timeout=3s --retries=3 CMD ["${NODE_IN_IMAGE}", "${PROBE_IN_IMAGE}"]`,
    "",
  ].join("\n");
}

/** Pure: an app image's Dockerfile. */
export function appDockerfile(runtimeImage: string): string {
  return [`FROM ${runtimeImage}`, `COPY --chown=${TASK_USER} app/ /app/`, "WORKDIR /app", ""].join("\n");
}

/** Pure: the shared libraries (and the loader) in `ldd` output. */
export function parseLdd(output: string): string[] {
  const out: string[] = [];
  for (const line of output.split("\n")) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) out.push(m[1]!);
  }
  return out;
}

/** Pure: a Docker tag made of any text (tags allow [A-Za-z0-9_.-], 128 characters). */
export function tagOf(text: string): string {
  const t = text.replace(/^sha256:/, "").replace(/[^A-Za-z0-9_.-]/g, "-");
  return t.length <= 128 ? t : createHash("sha256").update(text).digest("hex");
}

async function fileHash(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest("hex");
}

export interface ImageOptions {
  readonly docker: DockerApi;
  /** `host:port` of the registry images are pushed to. */
  readonly registry: string;
  /** The Node binary baked into runtime images when the artifact names none. */
  readonly nodeBinary: string;
}

/** Builds, caches and pushes release images. One per engine. */
export class ImageBuilder {
  readonly #o: ImageOptions;
  readonly #inflight = new Map<string, Promise<string>>();

  constructor(options: ImageOptions) {
    this.#o = options;
  }

  /** The pinned image reference (`repo:tag@sha256:...`) that runs `release`; builds and pushes on first use. */
  imageFor(release: Release): Promise<string> {
    const a = release.artifact;
    if (a.kind === "image") return Promise.resolve(a.image);
    const repo = `${this.#o.registry}/berth/${`${release.service.project}-${release.service.service}`.toLowerCase().replace(/[^a-z0-9._-]/g, "-")}`;
    const ref = `${repo}:${tagOf(a.digest)}`;
    return this.#once(ref, async () => {
      try {
        const node = a.runtime?.path.map((p) => join(p, "node")).find((p) => existsSync(p)) ?? this.#o.nodeBinary;
        const runtime = await this.#runtime(node);
        if (!(await this.#exists(ref))) {
          const entries: TarEntry[] = [{ kind: "data", name: "Dockerfile", data: Buffer.from(appDockerfile(runtime)), mode: 0o644 }, { kind: "dir", name: "app", mode: 0o755 }, ...dirEntries(a.path, "app")];
          await this.#build(ref, entries, { "berth.release": release.id, "berth.digest": a.digest });
        }
        return await this.#push(ref);
      } catch (e) {
        throw new BerthError("BERTH_SWARM_IMAGE_FAILED", { release: release.number, service: `${release.service.project}/${release.service.service}`, detail: e instanceof Error ? e.message : String(e) }, { cause: e });
      }
    });
  }

  /** The runtime image for `nodeBinary` (local tag only: app images carry its layers to the registry). */
  #runtime(nodeBinary: string): Promise<string> {
    const real = realpathSync(nodeBinary);
    return this.#once(`runtime:${real}:${statSync(real).mtimeMs}`, async () => {
      const tag = `berth/runtime-node:${(await fileHash(real)).slice(0, 16)}`;
      if (await this.#exists(tag)) return tag;
      const libs = new Set<string>();
      const bins = { "usr/local/bin/node": real, "bin/sh": realpathSync("/bin/sh") === realpathSync("/usr/bin/dash") ? "/usr/bin/dash" : "/bin/dash", "bin/sleep": "/bin/sleep" };
      for (const bin of Object.values(bins)) for (const lib of parseLdd((await run("ldd", [bin])).stdout)) libs.add(lib);
      const entries: TarEntry[] = [{ kind: "data", name: "Dockerfile", data: Buffer.from(runtimeDockerfile()), mode: 0o644 }];
      const dirs = new Set<string>();
      const addDirs = (name: string): void => {
        const parts = name.split("/").slice(0, -1);
        for (let i = 1; i <= parts.length; i++) {
          const d = parts.slice(0, i).join("/");
          if (!dirs.has(d)) {
            dirs.add(d);
            entries.push({ kind: "dir", name: d, mode: 0o755 });
          }
        }
      };
      const file = (name: string, path: string): void => {
        addDirs(name);
        entries.push({ kind: "file", name, path: realpathSync(path), mode: 0o755, size: statSync(path).size });
      };
      for (const [name, path] of Object.entries(bins)) file(`rootfs/${name}`, path);
      for (const lib of libs) file(`rootfs${lib}`, lib);
      const data = (name: string, text: string, mode = 0o644): void => {
        addDirs(name);
        entries.push({ kind: "data", name, data: Buffer.from(text), mode });
      };
      data(`rootfs${PROBE_IN_IMAGE}`, PROBE_SCRIPT);
      data("rootfs/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n");
      data("rootfs/etc/group", "root:x:0:\nnogroup:x:65534:\n");
      entries.push({ kind: "dir", name: "rootfs/tmp", mode: 0o1777 }, { kind: "dir", name: "rootfs/app", mode: 0o755 });
      await this.#build(tag, entries, { "berth.runtime": "node" });
      return tag;
    });
  }

  async #exists(ref: string): Promise<boolean> {
    const found = await this.#o.docker.json<unknown[]>({ path: "/images/json", query: { filters: filters({ reference: [ref] }) } });
    return found.length > 0;
  }

  async #build(tag: string, entries: TarEntry[], labels: Record<string, string>): Promise<void> {
    await this.#o.docker.progress({ method: "POST", path: "/build", query: { t: tag, rm: 1, forcerm: 1, networkmode: "none", labels: JSON.stringify(labels) }, stream: tarStream(entries) });
  }

  /** Pushes and returns `ref@digest`. Loopback registries are plain HTTP, allowed by dockerd. */
  async #push(ref: string): Promise<string> {
    const colon = ref.lastIndexOf(":");
    const lines = await this.#o.docker.progress({
      method: "POST",
      path: `/images/${ref.slice(0, colon)}/push`,
      query: { tag: ref.slice(colon + 1) },
      headers: { "X-Registry-Auth": Buffer.from("{}").toString("base64") },
    });
    const digest = lines.map((l) => (l.aux as { Digest?: string } | undefined)?.Digest).find((d) => d);
    if (!digest) throw new Error(`the registry reported no digest for ${ref}`);
    return `${ref}@${digest}`;
  }

  #once(key: string, make: () => Promise<string>): Promise<string> {
    let p = this.#inflight.get(key);
    if (!p) {
      p = make();
      this.#inflight.set(key, p);
      // A failure is not cached: the next apply tries again.
      p.catch(() => this.#inflight.delete(key));
    }
    return p;
  }
}
