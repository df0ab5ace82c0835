/**
 * Which Node.js a service builds and runs with, as Render and Heroku choose it: package.json
 * `engines.node`, then `.node-version`, then `.nvmrc`, then the blueprint (`nodeVersion`, or a
 * plain `NODE_VERSION` variable), else the current LTS. A range resolves to the highest release
 * the registry has that satisfies it. Pure: the caller reads the files and lists the versions.
 * Decisions: docs/design/build-runtimes.md.
 */
import semver from "semver";
import { DEFAULT_NODE_MAJOR, nodeRange } from "../../blueprint/runtime-versions.ts";
import { BerthError } from "../../core/errors.ts";

export { DEFAULT_NODE_MAJOR, nodeRange };

/** A version request and where it was written, e.g. `package.json engines.node` or `.nvmrc:1`. */
export interface VersionPin {
  readonly value: string;
  readonly where: string;
}

/** The raw texts pins are read from (absent files are undefined). */
export interface NodePinFiles {
  readonly packageJson?: string;
  readonly nodeVersionFile?: string;
  readonly nvmrc?: string;
}

/** Pins that come from the blueprint rather than from the repository. */
export interface NodePinSettings {
  /** The service's `nodeVersion` field. */
  readonly nodeVersion?: string;
  /** A plain-value `NODE_VERSION` variable of the service (as Render reads it). */
  readonly envVar?: string;
}

/** A request for a Node line: a semver range and where it came from. */
export interface NodeRequest {
  readonly range: string;
  readonly from: string;
  /** False for the default (nothing pinned). */
  readonly pinned: boolean;
}

export type NodeResolution = { readonly version: string; readonly from: string; readonly warning?: string } | { readonly error: BerthError };

/** First meaningful line of a version file (nvm allows comments and trailing blank lines). */
function firstLine(text: string): { value: string; line: number } | undefined {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const value = lines[i]!.replace(/#.*$/, "").trim();
    if (value) return { value, line: i + 1 };
  }
  return undefined;
}

/** Line (1-based) of `"node"` inside `"engines"` in package.json text, for located messages. */
function enginesLine(text: string): number | undefined {
  const at = text.search(/"engines"\s*:/);
  if (at < 0) return undefined;
  const rel = text.slice(at).search(/"node"\s*:/);
  if (rel < 0) return undefined;
  return text.slice(0, at + rel).split("\n").length;
}

/**
 * The pins found, highest precedence first. Throws BERTH_BUILD_MANIFEST_INVALID for a
 * package.json that is not JSON (npm would fail later with less to go on).
 */
export function nodePins(files: NodePinFiles, settings: NodePinSettings = {}): VersionPin[] {
  const pins: VersionPin[] = [];
  if (files.packageJson !== undefined) {
    let pkg: unknown;
    try {
      pkg = JSON.parse(files.packageJson);
    } catch (e) {
      throw new BerthError("BERTH_BUILD_MANIFEST_INVALID", { file: "package.json", detail: (e as Error).message });
    }
    const engines = (pkg as { engines?: unknown } | null)?.engines;
    const node = engines && typeof engines === "object" ? (engines as { node?: unknown }).node : undefined;
    if (typeof node === "string" && node.trim()) {
      const line = enginesLine(files.packageJson);
      pins.push({ value: node.trim(), where: `package.json${line ? `:${line}` : ""} engines.node` });
    }
  }
  for (const [file, text] of [[".node-version", files.nodeVersionFile], [".nvmrc", files.nvmrc]] as const) {
    const first = text === undefined ? undefined : firstLine(text);
    if (first) pins.push({ value: first.value, where: `${file}:${first.line}` });
  }
  if (settings.nodeVersion?.trim()) pins.push({ value: settings.nodeVersion.trim(), where: "the blueprint's nodeVersion" });
  if (settings.envVar?.trim()) pins.push({ value: settings.envVar.trim(), where: "the NODE_VERSION variable" });
  return pins;
}

/** The request that wins (the first pin), validated. The default when nothing is pinned. */
export function nodeRequest(pins: readonly VersionPin[]): NodeRequest | { readonly error: BerthError } {
  const pin = pins[0];
  if (!pin) return { range: `${DEFAULT_NODE_MAJOR}.x`, from: `default (Node.js ${DEFAULT_NODE_MAJOR}, the current LTS)`, pinned: false };
  const range = nodeRange(pin.value);
  if (range === undefined) return { error: new BerthError("BERTH_BUILD_NODE_VERSION_INVALID", { value: pin.value, where: pin.where }) };
  return { range, from: `${pin.where} "${pin.value}"`, pinned: true };
}

/** Release versions only: no prereleases, no odd tags the package once carried (`8.1.3-win9`). */
export function releaseVersions(available: readonly string[]): string[] {
  return available.filter((v) => semver.valid(v) !== null && semver.prerelease(v) === null);
}

/** The highest available release satisfying the request, or a located error saying what exists. */
export function pickNodeVersion(request: NodeRequest, available: readonly string[]): NodeResolution {
  const releases = releaseVersions(available);
  const version = semver.maxSatisfying(releases, request.range);
  // `>=20.9` takes the newest major there is, as on Heroku and Render: say so, since a new
  // major then arrives with the next build rather than by choice.
  if (version && request.range !== "*" && semver.satisfies("999.0.0", request.range)) {
    return { version, from: request.from, warning: `${request.from} has no upper bound: Node.js ${version}, the newest release, is used; write \`${semver.major(version)}.x\` to stay on one major` };
  }
  if (version) return { version, from: request.from };
  const sorted = releases.sort(semver.compare);
  return {
    error: new BerthError("BERTH_BUILD_NODE_UNSATISFIABLE", {
      range: request.range,
      where: request.from,
      oldest: sorted[0] ?? "none",
      newest: sorted.at(-1) ?? "none",
    }),
  };
}

/** Pins + the registry's versions -> the version to use and why (pure). */
export function resolveNodeVersion(pins: readonly VersionPin[], available: readonly string[]): NodeResolution {
  const request = nodeRequest(pins);
  return "error" in request ? request : pickNodeVersion(request, available);
}
