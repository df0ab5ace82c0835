/**
 * Daemon configuration, resolved once at the edge (flags + environment + defaults) into a frozen
 * object that is passed down explicitly. Nothing below the composition root reads process.env.
 */
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { BerthError } from "./errors.ts";

export interface BerthConfig {
  readonly dataDir: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly engine: "local" | "memory";
  /** Base domain of generated hostnames: `<service>-<env>-<project>.<baseDomain>`. */
  readonly baseDomain: string;
  /** `httpsPort` 0 = no HTTPS listener. */
  readonly router: {
    readonly enabled: boolean;
    readonly bindHost: string;
    readonly httpPort: number;
    readonly httpsPort: number;
    /**
     * HAProxy's `timeout connect` (BERTH_ROUTER_CONNECT_TIMEOUT_MS). Default 5 s; 1 s when a Docker
     * Swarm is configured: a lost machine drops packets, and a connect that times out sooner is
     * retried on another instance sooner (issue 20; loopback connects never wait for it).
     */
    readonly connectTimeoutMs: number;
  };
  /**
   * Loopback isolation between projects (issue 17, root only): `guarded` refuses each project
   * the ports of Berth's API and of other projects; `strict` every local port it was not granted;
   * `off` none (BERTH_LOOPBACK; docs/design/security.md).
   */
  readonly loopback: "guarded" | "strict" | "off";
  /** Delay before a failed reconcile is retried; doubled up to the max. */
  readonly reconcileRetryMs: number;
  readonly reconcileRetryMaxMs: number;
  /** Periodic level-based resync of every environment, to catch drift. */
  readonly resyncIntervalMs: number;
  /** Issue 19: how often services with `sleepAfter` are checked for idleness (BERTH_SLEEP_CHECK_MS, default 15 s). */
  readonly sleepCheckMs: number;
  /** Log files of instances gone for longer than this are removed (BERTH_LOG_RETENTION_DAYS, default 7). */
  readonly logRetentionMs: number;
  readonly logLevel: "debug" | "info" | "warn" | "error";
  /** Ceiling on services per project (all its environments); a sync beyond it is refused (issue 15). */
  readonly maxServicesPerProject: number;
  readonly isRoot: boolean;
  /**
   * Adjustments to the variables copied from the daemon's environment into builds
   * (BERTH_BUILD_ENV / --build-env, comma-separated: `NAME` or `PREFIX*` adds, `-NAME` removes).
   */
  readonly buildEnv: readonly string[];
  /**
   * Certificates for custom domains (ACME over HTTP-01). `off` (BERTH_ACME_DIRECTORY=off) asks no
   * CA: such hosts are reported once and keep the default certificate. `caFile` is a PEM the
   * directory's HTTPS is trusted with (a test CA such as pebble's).
   */
  readonly acme: AcmeConfig;
  /**
   * Issue 20: the Docker Swarm environments (`engine: swarm`) run on. `dockerSocket` is a swarm
   * manager's Engine API socket (BERTH_DOCKER_HOST, `unix:///path` or a path); `registry` the
   * `host:port` Berth's image registry listens on, reachable from every node (BERTH_SWARM_REGISTRY,
   * default 127.0.0.1:5000). Absent: no Docker host configured, swarm environments are refused.
   */
  readonly swarm?: { readonly dockerSocket: string; readonly registry: string };
  /** Key-encryption key: base64 keys in BERTH_KEK (current first, comma-separated), else a file. */
  readonly kek: { readonly kind: "file"; readonly path: string } | { readonly kind: "value"; readonly value: string; readonly origin: string };
}

export type AcmeConfig =
  | { readonly kind: "off" }
  | { readonly kind: "on"; readonly directoryUrl: string; readonly email?: string; readonly caFile?: string };

/** Let's Encrypt's production directory: the default CA of custom domains. */
export const LETS_ENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory";

export interface ConfigInput {
  readonly flags: Readonly<Record<string, string | boolean | undefined>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly isRoot: boolean;
  readonly home?: string;
}

/** `host:port`, `:port` or `port`. IPv6 in brackets: `[::1]:7700`. */
export function parseListen(text: string, field = "listen"): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new BerthError("BERTH_CONFIG_INVALID", { field, detail: `'${text}' is not host:port (e.g. 127.0.0.1:7700)` });
  }
  return { host: m[1] || m[2] || "127.0.0.1", port };
}

function intSetting(value: string | undefined, field: string, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new BerthError("BERTH_CONFIG_INVALID", { field, detail: `'${value}' is not a whole number` });
  return n;
}

/** BERTH_ACME_DIRECTORY (a URL or `off`), BERTH_ACME_EMAIL, BERTH_ACME_CA_FILE. */
function acmeSetting(env: ConfigInput["env"]): AcmeConfig {
  const directory = env.BERTH_ACME_DIRECTORY || LETS_ENCRYPT_DIRECTORY;
  if (directory === "off") return Object.freeze({ kind: "off" as const });
  if (!URL.canParse(directory) || new URL(directory).protocol !== "https:") {
    throw new BerthError("BERTH_CONFIG_INVALID", { field: "BERTH_ACME_DIRECTORY", detail: `'${directory}' is not an https:// ACME directory URL (or off)` });
  }
  const email = env.BERTH_ACME_EMAIL || undefined;
  if (email !== undefined && !/^[^@\s]+@[^@\s]+$/.test(email)) {
    throw new BerthError("BERTH_CONFIG_INVALID", { field: "BERTH_ACME_EMAIL", detail: `'${email}' is not an email address` });
  }
  const caFile = env.BERTH_ACME_CA_FILE || undefined;
  return Object.freeze({ kind: "on" as const, directoryUrl: directory, ...(email ? { email } : {}), ...(caFile ? { caFile: resolve(caFile) } : {}) });
}

export function defaultDataDir(isRoot: boolean, home = homedir()): string {
  return isRoot ? "/var/lib/berth" : join(home, ".berth");
}

/** BERTH_DOCKER_HOST (`unix:///path` or an absolute path; only unix sockets) and BERTH_SWARM_REGISTRY. */
function swarmSetting(host: string | undefined, registry: string | undefined): BerthConfig["swarm"] {
  if (!host) return undefined;
  const socket = host.startsWith("unix://") ? host.slice("unix://".length) : host;
  if (!socket.startsWith("/")) {
    throw new BerthError("BERTH_CONFIG_INVALID", { field: "BERTH_DOCKER_HOST", detail: `'${host}' is not a unix socket (unix:///var/run/docker.sock); a remote dockerd is reached through a socket forwarded to this machine` });
  }
  const reg = registry || "127.0.0.1:5000";
  if (!/^[A-Za-z0-9.-]+:\d{1,5}$/.test(reg)) throw new BerthError("BERTH_CONFIG_INVALID", { field: "BERTH_SWARM_REGISTRY", detail: `'${reg}' is not host:port (e.g. 10.0.0.1:5000)` });
  return Object.freeze({ dockerSocket: socket, registry: reg });
}

/** Pure: the same input always gives the same frozen config. */
export function resolveConfig(input: ConfigInput): BerthConfig {
  const { flags, env, isRoot } = input;
  const str = (flag: string, envName: string): string | undefined => {
    const f = flags[flag];
    if (typeof f === "string") return f;
    return env[envName];
  };
  const engine = str("engine", "BERTH_ENGINE") ?? "local";
  if (engine !== "local" && engine !== "memory") {
    throw new BerthError("BERTH_CONFIG_INVALID", { field: "engine", detail: `'${engine}' is not one of local, memory` });
  }
  const logLevel = str("log-level", "BERTH_LOG_LEVEL") ?? "info";
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    throw new BerthError("BERTH_CONFIG_INVALID", { field: "log-level", detail: `'${logLevel}' is not one of debug, info, warn, error` });
  }
  const loopback = str("loopback", "BERTH_LOOPBACK") ?? "guarded";
  if (loopback !== "guarded" && loopback !== "strict" && loopback !== "off") {
    throw new BerthError("BERTH_CONFIG_INVALID", { field: "loopback", detail: `'${loopback}' is not one of guarded, strict, off` });
  }
  const routerFlag = flags.router;
  const routerEnabled = routerFlag === false ? false : (env.BERTH_ROUTER ?? "on") !== "off";
  const dataDir = resolve(str("data-dir", "BERTH_DATA_DIR") ?? defaultDataDir(isRoot, input.home));
  const kekValue = env.BERTH_KEK;
  const swarm = swarmSetting(str("docker-host", "BERTH_DOCKER_HOST"), str("swarm-registry", "BERTH_SWARM_REGISTRY"));
  return Object.freeze({
    ...(swarm ? { swarm } : {}),
    dataDir,
    kek: Object.freeze(
      kekValue
        ? { kind: "value" as const, value: kekValue, origin: "BERTH_KEK" }
        : { kind: "file" as const, path: resolve(str("kek-file", "BERTH_KEK_FILE") ?? join(dataDir, "secrets.kek")) },
    ),
    listen: Object.freeze(parseListen(str("listen", "BERTH_LISTEN") ?? "127.0.0.1:7700")),
    engine,
    baseDomain: str("base-domain", "BERTH_BASE_DOMAIN") ?? "localhost",
    router: Object.freeze({
      enabled: routerEnabled,
      // Public only when running as the machine's platform (root); a developer's Berth stays local.
      bindHost: str("bind", "BERTH_BIND") ?? (isRoot ? "0.0.0.0" : "127.0.0.1"),
      httpPort: intSetting(str("http-port", "BERTH_HTTP_PORT"), "http-port", isRoot ? 80 : 8080),
      httpsPort: intSetting(str("https-port", "BERTH_HTTPS_PORT"), "https-port", isRoot ? 443 : 8443),
      connectTimeoutMs: Math.max(100, intSetting(env.BERTH_ROUTER_CONNECT_TIMEOUT_MS, "BERTH_ROUTER_CONNECT_TIMEOUT_MS", swarm ? 1000 : 5000)),
    }),
    loopback,
    acme: acmeSetting(env),
    reconcileRetryMs: intSetting(env.BERTH_RECONCILE_RETRY_MS, "BERTH_RECONCILE_RETRY_MS", 1000),
    reconcileRetryMaxMs: intSetting(env.BERTH_RECONCILE_RETRY_MAX_MS, "BERTH_RECONCILE_RETRY_MAX_MS", 60_000),
    resyncIntervalMs: intSetting(env.BERTH_RESYNC_INTERVAL_MS, "BERTH_RESYNC_INTERVAL_MS", 30_000),
    sleepCheckMs: Math.max(100, intSetting(env.BERTH_SLEEP_CHECK_MS, "BERTH_SLEEP_CHECK_MS", 15_000)),
    logRetentionMs: intSetting(env.BERTH_LOG_RETENTION_DAYS, "BERTH_LOG_RETENTION_DAYS", 7) * 86_400_000,
    logLevel: logLevel as BerthConfig["logLevel"],
    maxServicesPerProject: Math.max(1, intSetting(env.BERTH_MAX_SERVICES_PER_PROJECT, "BERTH_MAX_SERVICES_PER_PROJECT", 5000)),
    isRoot,
    buildEnv: Object.freeze((str("build-env", "BERTH_BUILD_ENV") ?? "").split(",").map((e) => e.trim()).filter(Boolean)),
  });
}
