/**
 * The environment a build step runs with. Builds never see the daemon's whole environment (it may
 * hold the key-encryption key or tokens), but they must see the host's network and trust settings:
 * behind a TLS-intercepting proxy, `npm ci` without NODE_EXTRA_CA_CERTS fails with
 * SELF_SIGNED_CERT_IN_CHAIN. So a documented allowlist of names and prefixes is copied from the
 * daemon's environment; the daemon's config can add or remove entries (`BERTH_BUILD_ENV`).
 * Pure: the daemon resolves it once at start.
 */

/** npm settings about registries, trust and proxies (snake case, as npm reads them from the env). */
const NPM_NETWORK_SETTINGS = [
  "registry",
  "cafile",
  "ca",
  "strict_ssl",
  "proxy",
  "https_proxy",
  "noproxy",
  "fetch_retries",
  "fetch_retry_factor",
  "fetch_retry_mintimeout",
  "fetch_retry_maxtimeout",
  "fetch_timeout",
  "maxsockets",
  "replace_registry_host",
];

/** Names and `PREFIX*` patterns passed from the daemon's environment to every build step. */
export const DEFAULT_BUILD_ENV_ALLOW: readonly string[] = Object.freeze([
  "PATH",
  "LANG",
  "LC_ALL",
  "TZ",
  // Trust: Node (npm, yarn, pnpm), OpenSSL (git, curl, pip), Python requests, git.
  "NODE_EXTRA_CA_CERTS",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "REQUESTS_CA_BUNDLE",
  "CURL_CA_BUNDLE",
  "GIT_SSL_CAINFO",
  // Proxies, both spellings.
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "ALL_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "all_proxy",
  // Package-manager settings that say how to reach a registry. Not every npm_config_*: npm
  // exports its own state into scripts it runs (user_agent, loglevel, nodedir, local_prefix ...),
  // and a daemon started from `npm test` would hand those to every build.
  ...NPM_NETWORK_SETTINGS.flatMap((k) => [`npm_config_${k}`, `NPM_CONFIG_${k.toUpperCase()}`]),
  "YARN_*",
  "PIP_*",
]);

/**
 * npm settings that name a path of the daemon's own (its cache, its home's npmrc, its install
 * prefix): meaningless or harmful inside a build, which gets its own cache under Berth's build cache.
 */
const HOST_PATH_SETTINGS = new Set(["cache", "prefix", "userconfig", "tmp", "store_dir", "store-dir"]);

/**
 * Applies the daemon config's adjustments (`BERTH_BUILD_ENV`: `NAME` or `PREFIX*` adds, `-NAME`
 * removes) to the default allowlist.
 */
export function buildEnvAllowlist(adjustments: readonly string[], base: readonly string[] = DEFAULT_BUILD_ENV_ALLOW): readonly string[] {
  const allow = new Set(base);
  for (const entry of adjustments) {
    if (entry.startsWith("-")) allow.delete(entry.slice(1));
    else allow.add(entry);
  }
  return Object.freeze([...allow]);
}

function allowed(name: string, allow: readonly string[]): boolean {
  return allow.some((a) => (a.endsWith("*") ? name.startsWith(a.slice(0, -1)) : a === name));
}

/** The host variables a build receives: the allowlisted ones, minus npm settings naming host paths. */
export function hostBuildEnv(hostEnv: Readonly<Record<string, string | undefined>>, allow: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(hostEnv)) {
    if (value === undefined || !allowed(name, allow)) continue;
    const npmKey = /^npm_config_(.*)$/i.exec(name)?.[1]?.toLowerCase();
    if (npmKey !== undefined && HOST_PATH_SETTINGS.has(npmKey)) continue;
    out[name] = value;
  }
  return out;
}

/** What a failed build's output says about TLS trust, if anything. */
export interface TrustDiagnosis {
  /** The marker seen in the output, e.g. SELF_SIGNED_CERT_IN_CHAIN. */
  readonly marker: string;
  /** The variables that would fix it for this tool, and whether the build had them. */
  readonly variables: readonly { readonly name: string; readonly set: boolean }[];
}

const TRUST_MARKERS: readonly { re: RegExp; marker: string; vars: readonly string[] }[] = [
  { re: /SELF_SIGNED_CERT_IN_CHAIN|self[- ]signed certificate in certificate chain/i, marker: "SELF_SIGNED_CERT_IN_CHAIN", vars: ["NODE_EXTRA_CA_CERTS"] },
  { re: /UNABLE_TO_GET_ISSUER_CERT_LOCALLY|unable to get local issuer certificate/i, marker: "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", vars: ["NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE"] },
  { re: /UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED_CERT/i, marker: "UNABLE_TO_VERIFY_LEAF_SIGNATURE", vars: ["NODE_EXTRA_CA_CERTS"] },
  { re: /CERTIFICATE_VERIFY_FAILED|certificate verify failed/i, marker: "CERTIFICATE_VERIFY_FAILED", vars: ["SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE"] },
  { re: /server certificate verification failed/i, marker: "server certificate verification failed", vars: ["GIT_SSL_CAINFO", "SSL_CERT_FILE"] },
];

/** Looks for a certificate-trust failure in a failed step's output (pure). */
export function diagnoseTrust(lines: readonly string[], env: Readonly<Record<string, string | undefined>>): TrustDiagnosis | undefined {
  for (const line of lines) {
    for (const m of TRUST_MARKERS) {
      if (m.re.test(line)) return { marker: m.marker, variables: m.vars.map((name) => ({ name, set: !!env[name] })) };
    }
  }
  return undefined;
}

/**
 * The host's global npmrc (registry, cafile, proxy), for builds whose npm runs under another Node
 * than the system one: npm looks for it under its own Node's prefix, which would miss it.
 * `npm_config_globalconfig` in the daemon's environment wins; then the system Node's npmrc.
 */
export function hostNpmGlobalConfig(hostEnv: Readonly<Record<string, string | undefined>>, exists: (path: string) => boolean): string | undefined {
  const explicit = hostEnv.npm_config_globalconfig ?? hostEnv.NPM_CONFIG_GLOBALCONFIG;
  if (explicit) return explicit;
  return ["/usr/etc/npmrc", "/usr/local/etc/npmrc", "/etc/npmrc"].find((p) => exists(p));
}
