/**
 * What providing a toolchain needs: the tool cache, the registry, the build's env (host PATH,
 * trust settings), where the build log goes, and the Node running Berth (used as is, without a
 * download, when it is the version a service asks for).
 */
import type { Registry } from "./registry.ts";
import type { InstallRunner, ToolCache } from "./tool-cache.ts";

export interface HostNode {
  readonly version: string;
  readonly execPath: string;
  /** Headers for native modules (npm_config_nodedir), when known. */
  readonly nodedir?: string;
}

export interface ToolContext {
  readonly cache: ToolCache;
  readonly registry: Registry;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
  /** A line in the build log. */
  readonly log: (line: string) => void;
  readonly run: InstallRunner;
  readonly host: HostNode;
}

/** A provided tool: where its executables are and what a sandbox must show of it. */
export interface ProvidedTool {
  readonly name: string;
  readonly version: string;
  readonly binDirs: readonly string[];
  readonly readOnlyPaths: readonly string[];
}
