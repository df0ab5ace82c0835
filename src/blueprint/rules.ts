/**
 * Stage 4: cross-field rules over the normalized blueprint (with the raw document at hand for
 * what normalization folds away, like `replicas` written next to `singleton`).
 */
import { formatPath, type Path, type Reporter, suggest } from "./diagnostics.ts";
import type { RawBlueprint } from "./schema/root.ts";
import { DEFAULT_POSTGRES_MAJOR, POSTGRES_MAJORS } from "./runtime-versions.ts";
import type { Blueprint, EnvSource, Service } from "./types.ts";

/** Variables every instance gets from Berth itself; `${PORT}` and friends are always defined. */
export const BUILTIN_VARS = new Set(["PORT", "HOST", "NODE_ENV", "BERTH_PROJECT", "BERTH_ENVIRONMENT", "BERTH_SERVICE", "BERTH_RELEASE", "BERTH_INSTANCE"]);

type RawSvc = Record<string, unknown>;

export function checkRules(bp: Blueprint, raw: RawBlueprint, out: Reporter): void {
  const rawServices = (raw.services ?? {}) as Record<string, RawSvc>;
  checkNames(bp, out);
  checkPostgresMajors(bp, out);
  const domainOwner = new Map<string, string>();
  const serviceNames = bp.services.map((s) => s.name);
  const groupNames = bp.envGroups.map((g) => g.name);
  for (const svc of bp.services) {
    const r = rawServices[svc.name] ?? {};
    const path = ["services", svc.name];
    for (const [i, g] of svc.envGroups.entries()) {
      if (!groupNames.includes(g)) out.error("BERTH_BLUEPRINT_UNKNOWN_REFERENCE", { field: formatPath([...path, "envGroups", i]), kind: "env group", name: g, suggestion: suggest(g, groupNames, "Defined groups") }, [...path, "envGroups", i]);
    }
    if (svc.type === "cron") {
      if (!svc.schedule) out.error("BERTH_BLUEPRINT_CRON_SCHEDULE_MISSING", { service: svc.name }, path, true);
      if (!svc.command) out.error("BERTH_BLUEPRINT_CRON_COMMAND_MISSING", { service: svc.name }, path, true);
    }
    if (svc.type === "web" || svc.type === "private" || svc.type === "worker") {
      const replicas = r.replicas as number | undefined;
      if (svc.singleton && ((replicas !== undefined && replicas > 1) || svc.scaling)) {
        out.error("BERTH_BLUEPRINT_SINGLETON_REPLICAS", { service: svc.name, replicas: svc.scaling ? `up to ${svc.scaling.max}` : String(replicas) }, [...path, svc.scaling ? "scaling" : "replicas"], true);
      }
      if (replicas !== undefined && svc.scaling) out.error("BERTH_BLUEPRINT_REPLICAS_AND_SCALING", { service: svc.name }, [...path, "scaling"], true);
      if (svc.scaling) {
        if (svc.scaling.min > svc.scaling.max) out.error("BERTH_BLUEPRINT_SCALING_RANGE", { service: svc.name, min: svc.scaling.min, max: svc.scaling.max }, [...path, "scaling", "min"]);
        if (svc.scaling.targetCpuPercent === undefined && svc.scaling.targetMemoryPercent === undefined && !svc.scaling.queue) out.error("BERTH_BLUEPRINT_SCALING_TARGET", { service: svc.name }, [...path, "scaling"], true);
        const q = svc.scaling.queue;
        if (q && !bp.keyValues.some((k) => k.name === q.keyValue)) {
          out.error("BERTH_BLUEPRINT_UNKNOWN_REFERENCE", { field: formatPath([...path, "scaling", "queue", "keyValue"]), kind: "key-value store", name: q.keyValue, suggestion: suggest(q.keyValue, bp.keyValues.map((k) => k.name), "Defined key-value stores") }, [...path, "scaling", "queue", "keyValue"]);
        }
      }
      if (svc.disks.length > 0 && (svc.scaling || (replicas ?? 1) > 1)) {
        out.error("BERTH_BLUEPRINT_DISK_AUTOSCALING", { service: svc.name, what: svc.scaling ? "autoscale" : `run ${replicas} replicas` }, [...path, svc.scaling ? "scaling" : "replicas"], true);
      }
      const mounts = new Map<string, number>();
      const diskNames = new Set<string>();
      svc.disks.forEach((d, i) => {
        if (mounts.has(d.mountPath)) out.error("BERTH_BLUEPRINT_DUPLICATE_MOUNT", { service: svc.name, mountPath: d.mountPath }, [...path, "disks", i, "mountPath"]);
        mounts.set(d.mountPath, i);
        if (diskNames.has(d.name)) out.error("BERTH_BLUEPRINT_BAD_VALUE", { field: formatPath([...path, "disks", i, "name"]), detail: `disk name '${d.name}' is used twice`, suggestion: "Give each disk its own name." }, [...path, "disks", i, "name"]);
        diskNames.add(d.name);
      });
      if (svc.start === undefined) out.warn("BERTH_BLUEPRINT_NO_START", { service: svc.name }, path, true);
      // A TCP service's health is a TCP connect (issue 22): an HTTP path would be probed in vain.
      if (svc.type === "private" && svc.protocol === "tcp" && svc.health.path) {
        out.error("BERTH_BLUEPRINT_BAD_VALUE", { field: formatPath([...path, "health", "path"]), detail: `'${svc.name}' is a TCP service: its health is a TCP connect to its port`, suggestion: "Remove health.path (keep the timings), or use protocol: http." }, [...path, "health"]);
      }
    }
    if (svc.type === "web" || svc.type === "static") {
      svc.domains.forEach((d, i) => void claim(domainOwner, d, svc.name, [...path, "domains", i], out, d));
      svc.routes.forEach((rt, i) => void claim(domainOwner, `${rt.domain ?? "*"}${rt.path}`, svc.name, [...path, "routes", i, "path"], out, `${rt.domain ?? ""}${rt.path}`));
    }
    for (const [key, src] of Object.entries(svc.env)) checkAccess(bp, svc.name, src, [...path, "env", key], out);
  }
  checkInterpolation(bp, out);
  checkEnvironments(bp, raw, serviceNames, out);
}

function claim(owners: Map<string, string>, key: string, service: string, path: Path, out: Reporter, shown: string): void {
  const first = owners.get(key);
  if (first !== undefined && first !== service) out.error("BERTH_BLUEPRINT_DUPLICATE_DOMAIN", { domain: shown, first, second: service }, path);
  else if (first === service) out.error("BERTH_BLUEPRINT_DUPLICATE_DOMAIN", { domain: shown, first: service, second: service }, path);
  else owners.set(key, service);
}

function checkNames(bp: Blueprint, out: Reporter): void {
  const seen = new Map<string, string>();
  const add = (name: string, kind: string, path: Path) => {
    const first = seen.get(name);
    if (first) out.error("BERTH_BLUEPRINT_DUPLICATE_NAME", { name, first, second: kind }, path, true);
    else seen.set(name, kind);
  };
  for (const s of bp.services) add(s.name, "service", ["services", s.name]);
  for (const d of bp.databases) add(d.name, "database", ["databases", d.name]);
  for (const k of bp.keyValues) add(k.name, "key-value store", ["keyValues", k.name]);
}

function checkAccess(bp: Blueprint, service: string, src: EnvSource, path: Path, out: Reporter): void {
  const refs: { kind: "database" | "key-value store"; name: string }[] = [];
  if (src.kind === "fromDatabase") refs.push({ kind: "database", name: src.name });
  if (src.kind === "fromKeyValue") refs.push({ kind: "key-value store", name: src.name });
  if (src.kind === "interpolated") for (const p of src.parts) if (p.kind === "ref" && p.target !== "service") refs.push({ kind: p.target === "database" ? "database" : "key-value store", name: p.name });
  for (const ref of refs) {
    const res = ref.kind === "database" ? bp.databases.find((d) => d.name === ref.name) : bp.keyValues.find((k) => k.name === ref.name);
    if (res?.allowFrom && !res.allowFrom.includes(service)) {
      out.error("BERTH_BLUEPRINT_ACCESS_DENIED", { field: formatPath(path), service, kind: ref.kind, name: ref.name, allowed: res.allowFrom.join(", ") || "none" }, path);
    }
  }
}

/** Variables a service sees, in the order of precedence: groups first, its own env last. */
function visibleVars(bp: Blueprint, svc: Service): Map<string, { source: EnvSource; node: string; path: Path }> {
  const vars = new Map<string, { source: EnvSource; node: string; path: Path }>();
  for (const g of svc.envGroups) {
    const group = bp.envGroups.find((x) => x.name === g);
    for (const [k, src] of Object.entries(group?.env ?? {})) vars.set(k, { source: src, node: `group:${g}:${k}`, path: ["envGroups", g, k] });
  }
  for (const [k, src] of Object.entries(svc.env)) vars.set(k, { source: src, node: `service:${svc.name}:${k}`, path: ["services", svc.name, "env", k] });
  return vars;
}

/** `${VAR}` must name a visible variable, and variables must not refer to each other in a cycle. */
function checkInterpolation(bp: Blueprint, out: Reporter): void {
  const edges = new Map<string, string[]>();
  const paths = new Map<string, Path>();
  const visible = new Map(bp.services.map((s) => [s.name, visibleVars(bp, s)]));
  for (const svc of bp.services) {
    const vars = visible.get(svc.name)!;
    for (const [key, { source, node, path }] of vars) {
      paths.set(node, path);
      const deps: string[] = [];
      if (source.kind === "interpolated") {
        for (const p of source.parts) {
          if (p.kind !== "var") continue;
          const dep = vars.get(p.key);
          if (dep) deps.push(dep.node);
          else if (!BUILTIN_VARS.has(p.key) && node.startsWith("service:")) {
            const resource = bp.services.some((s) => s.name === p.key) || bp.databases.some((d) => d.name === p.key) || bp.keyValues.some((k) => k.name === p.key);
            const hint = resource ? `'${p.key}' is a resource: name a property, e.g. \${${p.key}.${bp.databases.some((d) => d.name === p.key) ? "connectionString" : bp.keyValues.some((k) => k.name === p.key) ? "url" : "host"}}.` : suggest(p.key, [...vars.keys()].filter((k) => k !== key), "Variables of this service");
            out.error("BERTH_BLUEPRINT_UNKNOWN_REFERENCE", { field: formatPath(path), kind: "variable", name: p.key, suggestion: hint }, path);
          }
        }
      }
      if (source.kind === "fromServiceEnv") {
        const other = bp.services.find((s) => s.name === source.name);
        const dep = other ? visible.get(other.name)?.get(source.envVarKey) : undefined;
        if (dep) deps.push(dep.node);
        else if (other) out.error("BERTH_BLUEPRINT_UNKNOWN_REFERENCE", { field: formatPath(path), kind: `variable of service '${source.name}'`, name: source.envVarKey, suggestion: suggest(source.envVarKey, Object.keys(other.env), "Its variables") }, path);
      }
      const existing = edges.get(node) ?? [];
      edges.set(node, [...existing, ...deps]);
    }
  }
  // Iterative-enough DFS: blueprints hold hundreds of variables, not millions.
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const reported = new Set<string>();
  const visit = (n: string): void => {
    state.set(n, 1);
    stack.push(n);
    for (const m of edges.get(n) ?? []) {
      if (state.get(m) === 1) {
        const cycle = stack.slice(stack.indexOf(m));
        const id = [...cycle].sort().join(",");
        if (!reported.has(id)) {
          reported.add(id);
          const shown = [...cycle, m].map((x) => x.split(":").slice(-1)[0]).join(" -> ");
          const at = paths.get(m) ?? [];
          out.error("BERTH_BLUEPRINT_INTERPOLATION_CYCLE", { field: formatPath(at), cycle: shown }, at);
        }
      } else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 2);
  };
  for (const n of edges.keys()) if (!state.has(n)) visit(n);
}

function checkEnvironments(bp: Blueprint, raw: RawBlueprint, services: readonly string[], out: Reporter): void {
  const envNames = bp.environments.map((e) => e.name);
  if (bp.previews.baseEnvironment && !envNames.includes(bp.previews.baseEnvironment)) {
    out.error("BERTH_BLUEPRINT_UNKNOWN_REFERENCE", { field: "previews.baseEnvironment", kind: "environment", name: bp.previews.baseEnvironment, suggestion: suggest(bp.previews.baseEnvironment, envNames, "Defined environments") }, ["previews", "baseEnvironment"]);
  }
  const lists = { services, databases: bp.databases.map((d) => d.name), keyValues: bp.keyValues.map((k) => k.name), envGroups: bp.envGroups.map((g) => g.name) };
  checkPreviews(bp, envNames, lists, out);
  for (const [envName, env] of Object.entries(raw.environments ?? {})) {
    for (const section of ["databases", "keyValues", "envGroups"] as const) {
      for (const name of Object.keys(env[section] ?? {})) {
        if (!lists[section].includes(name)) {
          out.error("BERTH_BLUEPRINT_UNKNOWN_REFERENCE", { field: formatPath(["environments", envName, section, name]), kind: section.replace(/s$/, ""), name, suggestion: suggest(name, lists[section], "Defined names") }, ["environments", envName, section, name], true);
        }
      }
    }
    for (const [name, o] of Object.entries(env.services ?? {})) {
      // An override may add a service only by giving it a type; otherwise it must name one.
      if (!services.includes(name) && !("type" in o)) {
        out.error("BERTH_BLUEPRINT_UNKNOWN_REFERENCE", { field: formatPath(["environments", envName, "services", name]), kind: "service", name, suggestion: suggest(name, services, "Defined services") }, ["environments", envName, "services", name], true);
      }
    }
  }
  const byName = new Map(bp.services.map((s) => [s.name, s]));
  for (const svc of bp.services) {
    for (const [key, src] of Object.entries(svc.env)) {
      const refs = src.kind === "fromService" ? [src] : src.kind === "interpolated" ? src.parts.flatMap((p) => (p.kind === "ref" && p.target === "service" ? [p] : [])) : [];
      for (const ref of refs) {
        const target = byName.get(ref.name);
        const problem = !target ? undefined : target.type === "worker" || target.type === "cron" ? `'${ref.name}' is a ${target.type} and has no network address` : (ref.property === "publicUrl" || ref.property === "publicHost") && target.type === "private" ? `'${ref.name}' is private and has no public URL` : undefined;
        if (problem) out.error("BERTH_BLUEPRINT_BAD_VALUE", { field: formatPath(["services", svc.name, "env", key]), detail: problem, suggestion: "Reference a web service (or a private one for host, port, hostport and url)." }, ["services", svc.name, "env", key]);
      }
    }
  }
}

/**
 * PostgreSQL majors are said at validate time, never found out at deploy time: one Berth cannot
 * provide is an error, and so are databases of one environment asking for different majors (they
 * share the environment's server).
 */
function checkPostgresMajors(bp: Blueprint, out: Reporter): void {
  const majors = POSTGRES_MAJORS.join(", ");
  for (const d of bp.databases) {
    if (!POSTGRES_MAJORS.includes(d.version)) {
      out.error(
        "BERTH_BLUEPRINT_BAD_VALUE",
        { field: `databases.${d.name}.postgres`, detail: `PostgreSQL ${d.version} cannot be provided: Berth provides PostgreSQL ${majors} (the distribution's packages, else the server builds on the npm registry)`, suggestion: `Write \`postgres: ${DEFAULT_POSTGRES_MAJOR}\` (the default, as on Render) or another of ${majors}. An existing database moves between majors only with \`berth db upgrade\`.` },
        ["databases", d.name, "postgres"],
      );
    }
  }
  const first = bp.databases[0];
  for (const d of bp.databases.slice(1)) {
    if (d.version !== first!.version) {
      out.error(
        "BERTH_BLUEPRINT_BAD_VALUE",
        { field: `databases.${d.name}.postgres`, detail: `databases of one environment share its PostgreSQL server, and '${first!.name}' asks for ${first!.version} where '${d.name}' asks for ${d.version}`, suggestion: `Ask for the same major in every database (\`postgres: ${first!.version}\`).` },
        ["databases", d.name, "postgres"],
      );
    }
  }
}

/** Issue 19: `previews.data` and `previews.envGroups` name things that exist, and `fork` has something to copy. */
function checkPreviews(bp: Blueprint, envNames: readonly string[], lists: { databases: string[]; envGroups: string[] }, out: Reporter): void {
  const p = bp.previews;
  for (const [i, g] of p.envGroups.entries()) {
    if (!lists.envGroups.includes(g)) out.error("BERTH_BLUEPRINT_UNKNOWN_REFERENCE", { field: `previews.envGroups[${i}]`, kind: "env group", name: g, suggestion: suggest(g, lists.envGroups, "Defined groups") }, ["previews", "envGroups", i]);
  }
  if (p.data.mode !== "fork") {
    const raw = (bp.source.previews as { data?: { scrub?: unknown; from?: unknown } } | undefined)?.data;
    if (raw?.scrub !== undefined) out.error("BERTH_BLUEPRINT_BAD_VALUE", { field: "previews.data.scrub", detail: `a scrub step cleans forked data, and previews.data.mode is ${p.data.mode}`, suggestion: "Write `mode: fork` to copy the parent's data, or remove `scrub`." }, ["previews", "data", "scrub"]);
    if (raw?.from !== undefined) out.error("BERTH_BLUEPRINT_BAD_VALUE", { field: "previews.data.from", detail: `only a fork copies from an environment, and previews.data.mode is ${p.data.mode}`, suggestion: "Write `mode: fork`, or remove `from`." }, ["previews", "data", "from"]);
    return;
  }
  if (!p.data.from) {
    out.error("BERTH_BLUEPRINT_BAD_VALUE", { field: "previews.data.from", detail: "a fork needs a parent environment to copy", suggestion: "Write `from: staging` (or set previews.baseEnvironment)." }, ["previews", "data"]);
  } else if (!envNames.includes(p.data.from)) {
    out.error("BERTH_BLUEPRINT_UNKNOWN_REFERENCE", { field: "previews.data.from", kind: "environment", name: p.data.from, suggestion: suggest(p.data.from, [...envNames], "Defined environments") }, ["previews", "data", "from"]);
  }
  if (lists.databases.length === 0) {
    out.error("BERTH_BLUEPRINT_BAD_VALUE", { field: "previews.data.mode", detail: "`fork` copies databases and the blueprint declares none", suggestion: "Declare a database under `databases:`, or use `mode: empty`." }, ["previews", "data", "mode"]);
  }
  const s = p.data.scrub;
  if (s?.database && !lists.databases.includes(s.database)) {
    out.error("BERTH_BLUEPRINT_UNKNOWN_REFERENCE", { field: "previews.data.scrub.database", kind: "database", name: s.database, suggestion: suggest(s.database, lists.databases, "Defined databases") }, ["previews", "data", "scrub", "database"]);
  }
}
