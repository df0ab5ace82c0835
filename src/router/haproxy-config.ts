/**
 * Renders the HAProxy configuration and its map files from the route table. Pure: the same
 * table and settings give the same bytes, so it is snapshot-tested and its fingerprint tells
 * whether a reload is needed at all.
 *
 * Shapes chosen here (see docs/design/router.md):
 * - host + path routing through two map files (exact `host/prefix`, and `host/prefix/` by
 *   longest-prefix-first), so thousands of routes cost one lookup, not one ACL each;
 * - one backend per service with a fixed number of server slots; instances move in and out of
 *   slots through the runtime API, so a deploy never reloads HAProxy;
 * - request logs in a small space-separated format written to an in-memory ring that Berth
 *   reads in batches over the runtime API (`show events -w`), instead of one datagram per request.
 */
import type { Endpoint } from "../engine/engine.ts";
import { cfgString, cfgWord, mapLine } from "./haproxy-encode.ts";
import type { RouteBackend, RouteTable } from "./routes.ts";

/** The state of one server slot of a backend, as rendered into the configuration. */
export interface SlotState {
  readonly endpoint: Endpoint;
  /** `drain` slots are rendered disabled: after a reload, they take no traffic. */
  readonly state: "ready" | "drain";
}

export interface HaproxySettings {
  readonly bindHost: string;
  readonly httpPort: number;
  /** Absent: no HTTPS listener. */
  readonly httpsPort?: number;
  /** Directory holding this generation's map files. */
  readonly mapDir: string;
  readonly crtListPath: string;
  readonly adminSocketPath: string;
  /** Log one request in N (1: every request). Sampling trades metric precision for proxy CPU. */
  readonly logSampleEvery: number;
  /** Where `/.well-known/acme-challenge/` is answered (Berth's HTTP-01 responder). */
  readonly acmeResponder?: Endpoint;
  /** Issue 19: the Unix socket of the daemon's waker, the backup server of backends that may sleep. */
  readonly wakerSocket?: string;
  readonly hstsMaxAgeSeconds: number;
  /** Slot count per backend (at least 1). */
  readonly slotsPerBackend: (backend: string) => number;
  /** Slots currently holding instances, by backend name then slot number (1-based). */
  readonly servers: ReadonlyMap<string, ReadonlyMap<number, SlotState>>;
  readonly timeouts: {
    readonly connectMs: number;
    readonly clientMs: number;
    readonly serverMs: number;
    readonly tunnelMs: number;
    readonly httpRequestMs: number;
    readonly keepAliveMs: number;
    /** How long old workers may serve their connections after a reload. */
    readonly hardStopAfterMs: number;
  };
}

export const defaultTimeouts: HaproxySettings["timeouts"] = Object.freeze({
  connectMs: 5_000,
  clientMs: 60_000,
  serverMs: 60_000,
  tunnelMs: 3_600_000,
  httpRequestMs: 10_000,
  keepAliveMs: 60_000,
  hardStopAfterMs: 30_000,
});

/** The map file names inside `mapDir`. */
export const MAP_FILES = { exact: "routes-exact.map", prefix: "routes-prefix.map", tls: "tls-hosts.map" } as const;

/** The ring buffer holding request logs until Berth reads them. */
export const REQUEST_RING = "berth_requests";

/** Format of request log lines; parsed by request-metrics.ts. Fields: backend status Ta Tr bytes server (slot). */
export const LOG_FORMAT = "berth %b %ST %Ta %Tr %B %s";

/** Issue 19: the header naming the backend of a request the waker receives. */
export const WAKE_HEADER = "X-Berth-Wake";

/** Name of slot n of a backend. */
export function slotName(n: number): string {
  return `s${n}`;
}

const word = cfgWord;

/** Pure: the three map files keyed by file name. */
export function renderMapFiles(table: RouteTable): Record<string, string> {
  const exact: string[] = [];
  const prefix: Array<[string, string]> = [];
  for (const r of table.routes) {
    if (r.pathPrefix === "/") {
      prefix.push([`${r.host}/`, r.backend]);
    } else {
      exact.push(mapLine(`${r.host}${r.pathPrefix}`, r.backend));
      prefix.push([`${r.host}${r.pathPrefix}/`, r.backend]);
    }
  }
  // map_beg takes the first match in file order: longest keys first gives longest-prefix routing.
  prefix.sort((a, b) => b[0].length - a[0].length || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const tls = table.hosts.filter((h) => h.redirect).map((h) => mapLine(h.host, "1"));
  const file = (lines: string[]): string => (lines.length ? `${lines.join("\n")}\n` : "");
  return {
    [MAP_FILES.exact]: file(exact),
    [MAP_FILES.prefix]: file(prefix.map(([k, v]) => mapLine(k, v))),
    [MAP_FILES.tls]: file(tls),
  };
}

function renderBackend(b: RouteBackend, s: HaproxySettings): string[] {
  const slots = Math.max(1, s.slotsPerBackend(b.name));
  const current = s.servers.get(b.name) ?? new Map<number, SlotState>();
  const inter = Math.max(100, b.healthIntervalMs);
  const tcp = b.internal?.protocol === "tcp";
  const lines = [
    `backend ${word(b.name)}`,
    "  balance roundrobin",
    // No health path (private services without one, TCP services): a TCP connect is the check.
    ...(b.healthPath !== undefined && !tcp
      ? [
          "  option httpchk",
          `  http-check send meth GET uri ${cfgString(b.healthPath)} ver HTTP/1.1 hdr Host ${cfgString(b.healthHost)}`,
          "  http-check expect status 200-399",
        ]
      : []),
    // Without it HAProxy's check timeout is `inter`: a busy instance would be marked down.
    `  timeout check ${Math.max(100, b.healthTimeoutMs)}`,
    `  default-server check inter ${inter} fastinter ${Math.max(100, Math.floor(inter / 2))} downinter ${inter} rise 2 fall 2`,
  ];
  if (b.wake && s.wakerSocket && !tcp) {
    // Issue 19: while no slot is up (the service sleeps), HAProxy uses the backup server: the
    // daemon's waker, told which backend by a header (removed before the request reaches the app).
    lines.push(`  http-request set-header ${WAKE_HEADER} ${word(b.name)}`, `  server waker unix@${word(s.wakerSocket)} backup no-check`);
  }
  for (let n = 1; n <= slots; n++) {
    const slot = current.get(n);
    if (slot) {
      const off = slot.state === "drain" ? " disabled" : "";
      lines.push(`  server ${slotName(n)} ${word(slot.endpoint.host)}:${slot.endpoint.port}${off}`);
    } else {
      // A parked slot: in maintenance, no checks, waiting for `set server ... addr` + `state ready`.
      lines.push(`  server ${slotName(n)} 127.0.0.1:1 disabled`);
    }
  }
  return lines;
}

/** Name of the internal listener in front of a backend (issue 22). */
export function internalFrontendName(backend: string): string {
  return `int.${backend}`;
}

/**
 * The internal listener of a service (issue 22): bound to its own loopback address only, so it
 * is not reachable from outside the machine; the loopback policy keeps other projects out.
 */
function renderInternalFrontend(b: RouteBackend): string[] {
  const i = b.internal!;
  return [
    `frontend ${word(internalFrontendName(b.name))}`,
    `  bind ${word(i.address)}:${i.port}`,
    ...(i.protocol === "tcp" ? [] : ["  http-request set-header X-Forwarded-Proto http"]),
    `  default_backend ${word(b.name)}`,
  ];
}

/** Pure: the whole haproxy.cfg. */
export function renderHaproxyConfig(table: RouteTable, s: HaproxySettings): string {
  const t = s.timeouts;
  const map = (name: string): string => word(`${s.mapDir}/${name}`);
  const keys = [
    "  http-request set-var(txn.host) req.hdr(host),field(1,:),lower",
    "  http-request set-var(txn.path) path",
    "  http-request set-var(txn.rkey) var(txn.host),concat(,txn.path,)",
  ];
  // At most two lookups per request: the exact map, then the prefix map only if that missed.
  const routing = [
    `  http-request set-var(txn.be) var(txn.rkey),map_str(${map(MAP_FILES.exact)})`,
    `  http-request set-var(txn.be) var(txn.rkey),map_beg(${map(MAP_FILES.prefix)}) unless { var(txn.be) -m found }`,
    "  use_backend %[var(txn.be)] if { var(txn.be) -m found }",
    "  default_backend berth.no-route",
  ];
  const tlsHost = `{ var(txn.host),map_str(${map(MAP_FILES.tls)}) -m found }`;
  const out = [
    "# Rendered by Berth (src/router/haproxy-config.ts). Do not edit: it is rewritten on every change.",
    "global",
    // Issue 15: never share a port with another HAProxy (an orphan of a killed daemon, or of
    // another data dir): binding fails at once and the router names the holder. Reloads pass
    // the listening sockets to the new worker (expose-fd listeners), so they need no reuse.
    "  noreuseport",
    `  stats socket ${word(s.adminSocketPath)} mode 600 level admin expose-fd listeners`,
    "  stats timeout 2m",
    `  hard-stop-after ${t.hardStopAfterMs}ms`,
    "  ssl-default-bind-options ssl-min-ver TLSv1.2",
    "  tune.ssl.default-dh-param 2048",
    "",
    `ring ${REQUEST_RING}`,
    "  format raw",
    "  maxlen 512",
    "  size 4194304",
    "",
    "defaults",
    "  mode http",
    `  log ring@${REQUEST_RING}${s.logSampleEvery > 1 ? ` sample 1:${Math.floor(s.logSampleEvery)}` : ""} local0 info`,
    `  log-format "${LOG_FORMAT}"`,
    "  option dontlognull",
    "  option forwardfor",
    "  option redispatch 1",
    "  retries 3",
    "  retry-on conn-failure empty-response",
    "  http-reuse safe",
    `  timeout connect ${t.connectMs}ms`,
    `  timeout client ${t.clientMs}ms`,
    `  timeout server ${t.serverMs}ms`,
    `  timeout tunnel ${t.tunnelMs}ms`,
    `  timeout http-request ${t.httpRequestMs}ms`,
    `  timeout http-keep-alive ${t.keepAliveMs}ms`,
    "",
    "frontend berth.http",
    `  bind ${word(s.bindHost)}:${s.httpPort}`,
    ...keys,
    "  http-request set-header X-Forwarded-Proto http",
    ...(s.acmeResponder
      ? [
          "  acl acme_challenge path_beg /.well-known/acme-challenge/",
          ...(s.httpsPort !== undefined ? [`  http-request redirect scheme https code 301 if !acme_challenge ${tlsHost}`] : []),
          "  use_backend berth.acme if acme_challenge",
        ]
      : s.httpsPort !== undefined
        ? [`  http-request redirect scheme https code 301 if ${tlsHost}`]
        : []),
    ...routing,
    "",
  ];
  if (s.httpsPort !== undefined) {
    out.push(
      "frontend berth.https",
      `  bind ${word(s.bindHost)}:${s.httpsPort} ssl crt-list ${word(s.crtListPath)} alpn h2,http/1.1`,
      ...keys,
      "  http-request set-header X-Forwarded-Proto https",
      `  http-response set-header Strict-Transport-Security "max-age=${s.hstsMaxAgeSeconds}" if ${tlsHost}`,
      ...routing,
      "",
    );
  }
  out.push(
    "backend berth.no-route",
    '  http-request return status 404 content-type text/plain string "no service is routed at this host and path\\n"',
    "",
  );
  if (s.acmeResponder) {
    out.push("backend berth.acme", `  server acme ${word(s.acmeResponder.host)}:${s.acmeResponder.port}`, "");
  }
  const isTcp = (b: RouteBackend): boolean => b.internal?.protocol === "tcp";
  for (const b of table.backends) if (b.internal && !isTcp(b)) out.push(...renderInternalFrontend(b), "");
  for (const b of table.backends) if (!isTcp(b)) out.push(...renderBackend(b, s), "");
  const tcp = table.backends.filter(isTcp);
  if (tcp.length > 0) {
    // TCP services (issue 22) after defaults of their own: the HTTP log format and HTTP options
    // of the first defaults section are errors or noise in TCP proxies.
    out.push(
      "defaults",
      "  mode tcp",
      "  option redispatch 1",
      "  retries 3",
      `  timeout connect ${t.connectMs}ms`,
      `  timeout client ${t.tunnelMs}ms`,
      `  timeout server ${t.tunnelMs}ms`,
      "",
    );
    for (const b of tcp) out.push(...renderInternalFrontend(b), "");
    for (const b of tcp) out.push(...renderBackend(b, s), "");
  }
  return out.join("\n");
}
