/**
 * Issue 17: nothing from a blueprint reaches a rendered file unescaped. Control characters,
 * quotes, `#`, `%`, `\`, blanks and unicode are thrown at every string field that ends up in a
 * file (HAProxy maps and config, the static server's config, the start command, mount points,
 * build paths). Each value is either refused by the blueprint with an error located at that
 * very field, or it is accepted and the rendered output parses back to exactly the intended
 * routes: no extra map line, no other project's host, the neighbour project's entries unchanged.
 * A second property feeds the same strings to the router directly (bypassing the schema): the
 * encoder refuses them or they parse back exactly.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import fc from "fast-check";
import { stringify } from "yaml";
import { parseBlueprint } from "../blueprint/index.ts";
import { resolveEnvironment } from "../blueprint/environments.ts";
import { desiredServices, shellQuote } from "../deploy/desired.ts";
import { routeServiceOf } from "../reconcile/routing.ts";
import { defaultTimeouts, MAP_FILES, renderHaproxyConfig, renderMapFiles } from "./haproxy-config.ts";
import { parseMapFile } from "./haproxy-encode.ts";
import { haproxyCheckArgv } from "./haproxy-process.ts";
import { buildRouteTable, type RouteService, type RouteTable } from "./routes.ts";

const RUNS = Number(process.env.BERTH_FUZZ_RUNS ?? 300);

/** The nasty alphabet: path characters plus everything that has meaning in some file format. */
const NASTY = ["\n", "\r", "\t", " ", "#", "%", "%2", "%41", "\\", "'", '"', "$", "{", "}", ";", "?", "*", "..", "\u0000", "\u007f", "\u00a0", "é", "\u2028", "😀", "\u200b"];
const PLAIN = ["/", "a", "b", "-", ".", "_", "~", "api", "x", "1", "web-production-b.localhost", " svc.b.production.web", "/ svc.b.production.web"];
const nasty = fc.array(fc.constantFrom(...NASTY, ...PLAIN), { minLength: 0, maxLength: 10 }).map((parts) => parts.join(""));
const pathLike = nasty.map((s) => `/${s}`);
/** Host names: mostly valid labels, sometimes a nasty one, sometimes under the base domain. */
const hostLike = fc
  .array(fc.constantFrom("a", "b", "x1", "example", "com", "org", "web-production-b", "localhost", "xn--bcher-kva", "Shop", "-x", "", "*", "#", " ", "\n", "é", "a b", "%41"), { minLength: 1, maxLength: 4 })
  .map((labels) => labels.join("."));

type Doc = Record<string, unknown>;
interface Field {
  readonly name: string;
  readonly path: readonly (string | number)[];
  readonly arb: fc.Arbitrary<string>;
}

/** Every string field that reaches a rendered file, with the document path where it is written. */
const FIELDS: readonly Field[] = [
  { name: "routes[].path", path: ["services", "web", "routes", 0, "path"], arb: fc.oneof(pathLike, nasty) },
  { name: "routes[].domain", path: ["services", "web", "routes", 1, "domain"], arb: fc.oneof(hostLike, nasty) },
  { name: "domains[]", path: ["services", "web", "domains", 0], arb: fc.oneof(hostLike, nasty) },
  { name: "health", path: ["services", "web", "health"], arb: fc.oneof(pathLike, nasty) },
  { name: "headers[].path", path: ["services", "site", "headers", 0, "path"], arb: fc.oneof(pathLike, nasty) },
  { name: "headers[].name", path: ["services", "site", "headers", 0, "name"], arb: nasty },
  { name: "headers[].value", path: ["services", "site", "headers", 0, "value"], arb: nasty },
  { name: "redirects[].from", path: ["services", "site", "redirects", 0, "from"], arb: fc.oneof(pathLike, nasty) },
  { name: "redirects[].to", path: ["services", "site", "redirects", 0, "to"], arb: fc.oneof(pathLike, nasty, nasty.map((s) => `https://${s}`)) },
  { name: "rewrites[].to", path: ["services", "site", "rewrites", 0, "to"], arb: fc.oneof(pathLike, nasty) },
  { name: "publishDir", path: ["services", "site", "publishDir"], arb: nasty },
  { name: "rootDir", path: ["services", "web", "rootDir"], arb: nasty },
  { name: "disks[].mountPath", path: ["services", "worker", "disks", 0, "mountPath"], arb: fc.oneof(pathLike, nasty) },
];

function baseDoc(project: string): Doc {
  return {
    version: 1,
    project,
    services: {
      web: { type: "web", start: "node s.js", health: "/health", domains: [`${project}.example.com`], routes: [{ path: "/api" }, { path: "/", domain: `www.${project}.example.com` }] },
      site: {
        type: "static",
        headers: [{ path: "/assets/*", name: "Cache-Control", value: "max-age=60" }],
        redirects: [{ from: "/old", to: "/new" }],
        rewrites: [{ from: "/app/*", to: "/index.html" }],
      },
      worker: { type: "worker", start: "node w.js", disks: [{ name: "data", mountPath: "/data" }] },
    },
  };
}

function setAt(doc: Doc, path: readonly (string | number)[], value: string): Doc {
  const copy = structuredClone(doc);
  let cur = copy as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) cur = cur[p] as Record<string | number, unknown>;
  cur[path[path.length - 1]!] = value;
  return copy;
}

function routedServices(doc: Doc): RouteService[] {
  const parsed = parseBlueprint(stringify(doc), { file: "berth.yaml" });
  if (!parsed.ok) throw new Error(`base blueprint invalid: ${parsed.errors[0]?.message}`);
  const bp = resolveEnvironment(parsed.blueprint, "production");
  const desired = desiredServices(bp, {
    project: bp.project,
    environment: "production",
    staticServer: ["/usr/bin/node", "/opt/berth/serve.ts"],
    envVersion: "",
    revisionOf: () => ({ kind: "dir", path: "/src", revision: "r" }),
  });
  return desired.flatMap((d) => routeServiceOf({ kind: d.spec.kind, spec: d.spec, inputs: d.inputs }) ?? []);
}

/** The map entries a table should produce, computed from the table (not from the renderer). */
function intendedEntries(table: RouteTable): Record<string, Array<[string, string]>> {
  const exact: Array<[string, string]> = [];
  const prefix: Array<[string, string]> = [];
  for (const r of table.routes) {
    if (r.pathPrefix === "/") prefix.push([`${r.host}/`, r.backend]);
    else {
      exact.push([`${r.host}${r.pathPrefix}`, r.backend]);
      prefix.push([`${r.host}${r.pathPrefix}/`, r.backend]);
    }
  }
  return { [MAP_FILES.exact]: exact, [MAP_FILES.prefix]: prefix, [MAP_FILES.tls]: table.hosts.filter((h) => h.redirect).map((h) => [h.host, "1"]) };
}

const sortPairs = (pairs: Array<[string, string]>) => [...pairs].map((p) => p.join(" -> ")).sort();

/** Rendered maps parse back (the way HAProxy reads them) to exactly the table's routes, one line each. */
function assertMapsExact(table: RouteTable): Record<string, string> {
  const maps = renderMapFiles(table);
  const want = intendedEntries(table);
  for (const [file, text] of Object.entries(maps)) {
    const lines = text === "" ? [] : text.replace(/\n$/, "").split("\n");
    const parsed = parseMapFile(text);
    assert.equal(lines.length, want[file]!.length, `${file}: ${lines.length} lines for ${want[file]!.length} routes`);
    assert.deepEqual(sortPairs(parsed), sortPairs(want[file]!), `${file} parses to other entries than intended`);
  }
  return maps;
}

let haproxyChecks = 0;
const HAPROXY_CHECKS = 12;

async function assertHaproxyAccepts(table: RouteTable, maps: Record<string, string>): Promise<void> {
  if (haproxyChecks >= HAPROXY_CHECKS) return;
  haproxyChecks++;
  const dir = await mkdtemp(join(tmpdir(), "berth-fuzz-"));
  try {
    for (const [name, content] of Object.entries(maps)) await writeFile(join(dir, name), content);
    const cfg = renderHaproxyConfig(table, {
      bindHost: "127.0.0.1",
      httpPort: 18080,
      mapDir: dir,
      crtListPath: join(dir, "crt-list.txt"),
      adminSocketPath: join(dir, "admin.sock"),
      hstsMaxAgeSeconds: 60,
      logSampleEvery: 1,
      slotsPerBackend: () => 1,
      servers: new Map(),
      timeouts: defaultTimeouts,
    });
    await writeFile(join(dir, "haproxy.cfg"), cfg);
    await promisify(execFile)("haproxy", haproxyCheckArgv(join(dir, "haproxy.cfg")));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const neighbour = routedServices(baseDoc("b"));
const neighbourAlone = renderMapFiles(buildRouteTable(neighbour));
const neighbourBackends = new Set(neighbour.map((s) => `svc.b.production.${s.ref.service}`));

/** The neighbour's entries in a shared table are exactly what it gets alone. */
function assertNeighbourUntouched(maps: Record<string, string>): void {
  for (const [file, text] of Object.entries(maps)) {
    const mine = parseMapFile(neighbourAlone[file]!);
    const inShared = parseMapFile(text).filter(([k, v]) => neighbourBackends.has(v) || mine.some(([mk]) => mk === k));
    if (file === MAP_FILES.tls) continue; // hosts, not backends: covered by the routes
    assert.deepEqual(sortPairs(inShared), sortPairs(mine), `${file}: project b's entries changed`);
  }
}

test(`fuzz: every blueprint string field that reaches a file is refused where it stands, or renders exactly (${RUNS} runs per field)`, async (t) => {
  const stats: Record<string, { accepted: number; refused: number }> = {};
  for (const field of FIELDS) {
    stats[field.name] = { accepted: 0, refused: 0 };
    const samples = fc.sample(field.arb, { numRuns: RUNS, seed: 17 });
    for (const value of samples) {
      const doc = setAt(baseDoc("a"), field.path, value);
      const text = stringify(doc);
      const parsed = parseBlueprint(text, { file: "berth.yaml", policy: { baseDomain: "localhost" } });
      if (!parsed.ok) {
        stats[field.name]!.refused++;
        const lines = text.split("\n").length;
        for (const e of parsed.errors) {
          assert.ok(e.line >= 1 && e.line <= lines && e.column >= 1, `${field.name}: error not located: ${e.message}`);
          assert.notEqual(e.code, "BERTH_INTERNAL");
        }
        assert.ok(
          parsed.errors.some((e) => JSON.stringify(e.path) === JSON.stringify(field.path)),
          `${field.name} = ${JSON.stringify(value)}: refused, but not at the field: ${parsed.errors.map((e) => `${e.path.join(".")}: ${e.message}`).join("; ")}`,
        );
        continue;
      }
      stats[field.name]!.accepted++;
      const mine = routedServices(doc);
      const table = buildRouteTable([...neighbour, ...mine]);
      assert.equal(table.refused, undefined, `${field.name} = ${JSON.stringify(value)} accepted by the blueprint but refused by the router`);
      const maps = assertMapsExact(table);
      assertNeighbourUntouched(maps);
      // Every host the table routes to project a is its generated host or a domain written in its blueprint.
      const written = JSON.stringify(doc).toLowerCase();
      for (const r of table.routes.filter((x) => x.backend.startsWith("svc.a."))) {
        assert.ok(r.generated || written.includes(JSON.stringify(r.host).slice(1, -1)), `host ${r.host} was not in the blueprint`);
      }
      await assertHaproxyAccepts(table, maps);
      // Fields outside the router: the value arrives intact where it is used.
      const v = value;
      if (field.name === "publishDir") {
        // It is one argument of the static server's command line, read by a real shell.
        assert.equal(execFileSync("/bin/sh", ["-c", `printf '%s' ${shellQuote(v)}`], { encoding: "utf8" }), v);
      }
      if (field.name === "rootDir" || field.name === "publishDir") {
        const inside = resolve("/src/tree", v);
        assert.ok(inside === "/src/tree" || inside.startsWith("/src/tree/"), `${field.name} ${JSON.stringify(v)} leaves the tree`);
      }
      if (field.name === "disks[].mountPath") assert.ok(/^\/[A-Za-z0-9._@+=,/-]+$/.test(v) && !v.split("/").includes(".."));
      if (field.name.startsWith("headers[]")) assert.ok(!/[\r\n\0]/.test(v), "a header with a line break was accepted");
    }
  }
  // The generator must exercise both outcomes for the fields that have safe values at all.
  for (const f of ["routes[].path", "routes[].domain", "domains[]", "health", "headers[].value", "rootDir"]) assert.ok(stats[f]!.accepted > 0 && stats[f]!.refused > 0, `${f}: ${JSON.stringify(stats[f])}`);
  assert.ok(haproxyChecks > 0, "no accepted sample went through haproxy -c");
  t.diagnostic(`accepted/refused per field: ${Object.entries(stats).map(([k, v]) => `${k} ${v.accepted}/${v.refused}`).join(", ")}; haproxy -c runs: ${haproxyChecks}`);
});

test(`fuzz: the router's encoder on its own refuses or renders exactly, whatever reaches it (${RUNS} runs)`, () => {
  const svc = (prefixes: string[], domains: string[], health: string): RouteService => ({
    ref: { project: "a", environment: "production", service: "web" },
    kind: "web",
    domains,
    pathPrefixes: prefixes,
    health: { path: health, intervalMs: 1000 },
  });
  fc.assert(
    fc.property(fc.array(fc.oneof(pathLike, nasty), { maxLength: 3 }), fc.array(nasty, { maxLength: 2 }), fc.oneof(pathLike, nasty), (prefixes, domains, health) => {
      const table = buildRouteTable([...neighbour, svc(prefixes, domains, health)]);
      const maps = assertMapsExact(table);
      assertNeighbourUntouched(maps);
      // The configuration renders (health paths refused by the table fall back to /).
      renderHaproxyConfig(table, {
        bindHost: "127.0.0.1",
        httpPort: 18080,
        mapDir: "/tmp/x",
        crtListPath: "/tmp/x/crt-list.txt",
        adminSocketPath: "/tmp/x/admin.sock",
        hstsMaxAgeSeconds: 60,
        logSampleEvery: 1,
        slotsPerBackend: () => 1,
        servers: new Map(),
        timeouts: defaultTimeouts,
      });
    }),
    { numRuns: RUNS },
  );
});
