/**
 * render.yaml -> berth.yaml. Covers the Blueprint spec: services (web, pserv, worker, cron,
 * static, redis/keyvalue), databases, envVarGroups, env var sources (value, generateValue,
 * sync: false, fromDatabase, fromService, fromGroup), previews, projects/environments, and the
 * deprecated spellings (`env:` for runtime, `previewsEnabled`, `type: redis`).
 */
import { importedPostgresMajor } from "../runtime-versions.ts";
import { parseYamlSource } from "../source.ts";
import { Draft, domainOk, ENV_KEY_OK, isObj, literal, type Obj } from "./draft.ts";
import { type ImportResult, emit } from "./emit.ts";
import { carryRuntimePins, type RepoFiles, runtimeNote } from "./runtime-pins.ts";

/** Approximate memory/CPU of Render's instance plans, used for `limits`. */
const PLANS: Record<string, { memory: string; cpu: number }> = {
  free: { memory: "512mb", cpu: 0.1 },
  starter: { memory: "512mb", cpu: 0.5 },
  standard: { memory: "2gb", cpu: 1 },
  pro: { memory: "4gb", cpu: 2 },
  "pro plus": { memory: "8gb", cpu: 4 },
  "pro max": { memory: "16gb", cpu: 4 },
  "pro ultra": { memory: "32gb", cpu: 8 },
};

const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === "string" && v.trim() ? v : typeof v === "number" ? String(v) : undefined);

export function importRender(text: string, opts: { file: string; project?: string; defaultProject?: string; repo?: RepoFiles }): ImportResult {
  const src = parseYamlSource(text.replace(/\r\n/g, "\n"));
  const draft = new Draft(opts.file, opts.project ?? opts.defaultProject ?? "app", (p) => src.locate(p));
  draft.header.push(`Imported from ${opts.file} by \`berth import\`. Review the comments marked "approx".`);
  if (src.errors.length > 0) {
    draft.approx([], `the file is not valid YAML (${src.errors[0]!.message})`, "Fix the YAML and import again.");
    return emit(draft);
  }
  const root = isObj(src.value) ? src.value : {};
  // projects[].environments[] hold their own resource lists; flatten them into one blueprint.
  const groups: { services: unknown[]; databases: unknown[]; envVarGroups: unknown[]; base: (string | number)[]; env?: string }[] = [
    { services: arr(root.services), databases: arr(root.databases), envVarGroups: arr(root.envVarGroups), base: [] },
  ];
  arr(root.projects).forEach((p, pi) => {
    if (!isObj(p)) return;
    if (opts.project === undefined && typeof p.name === "string") draft.doc.project = slugProject(p.name);
    arr(p.environments).forEach((e, ei) => {
      if (!isObj(e)) return;
      groups.push({ services: arr(e.services), databases: arr(e.databases), envVarGroups: arr(e.envVarGroups), base: ["projects", pi, "environments", ei], env: str(e.name) });
    });
  });
  const envNames = groups.flatMap((g) => (g.env ? [g.env] : []));
  if (envNames.length > 1) draft.approx(["projects"], `Render environments (${envNames.join(", ")}) were merged into one set of services`, "Move what differs per environment under `environments:` as overrides.");

  // Register names first so references resolve regardless of order.
  for (const g of groups) {
    for (const s of g.services) if (isObj(s) && str(s.name)) draft.nameFor(s.name as string, s.type === "redis" || s.type === "keyvalue" ? "keyValue" : "service");
    for (const d of g.databases) if (isObj(d) && str(d.name)) draft.nameFor(d.name as string, "database");
  }
  const groupNames = new Map<string, string>();
  for (const g of groups) {
    g.envVarGroups.forEach((grp, i) => {
      if (!isObj(grp) || !str(grp.name)) return;
      const name = slugProject(grp.name as string);
      groupNames.set(grp.name as string, name);
      draft.set(["envGroups", name], envVars(draft, arr(grp.envVars), [...g.base, "envVarGroups", i, "envVars"], ["envGroups", name], groupNames).env);
    });
  }
  const branches = new Set<string>();
  let autoDeployOff = false;
  for (const g of groups) {
    g.databases.forEach((d, i) => {
      database(draft, d, [...g.base, "databases", i]);
    });
    g.services.forEach((s, i) => {
      if (!isObj(s)) return;
      if (str(s.branch)) branches.add(s.branch as string);
      if (s.autoDeploy === false || s.autoDeployTrigger === "off") autoDeployOff = true;
      service(draft, s, [...g.base, "services", i], groupNames, opts.repo);
    });
  }
  const environments: Obj = {};
  for (const name of envNames.length > 0 ? envNames : ["production"]) environments[slugProject(name)] = {};
  const first = Object.keys(environments)[0]!;
  if (branches.size === 1) (environments[first] as Obj).branch = [...branches][0];
  else (environments[first] as Obj).branch = "main";
  if (branches.size > 1) draft.approx(["services"], `services follow different branches (${[...branches].join(", ")})`, "Berth deploys an environment from one branch; add an environment per branch.", ["environments"]);
  if (autoDeployOff) (environments[first] as Obj).autoDeploy = false;
  draft.set(["environments"], environments);

  const previews = isObj(root.previews) ? root.previews : {};
  const generation = str(previews.generation) ?? (root.previewsEnabled === true ? "automatic" : undefined);
  if (generation && generation !== "off") draft.set(["previews", "mode"], generation === "manual" ? "manual" : "automatic");
  const expire = previews.expireAfterDays ?? root.previewsExpireAfterDays;
  if (typeof expire === "number" && expire >= 1) draft.set(["previews", "expireAfterDays"], Math.trunc(expire));
  for (const k of Object.keys(root)) {
    if (!["services", "databases", "envVarGroups", "projects", "previews", "previewsEnabled", "previewsExpireAfterDays", "version", "ungrouped"].includes(k)) {
      draft.approx([k], `top-level '${k}' has no Berth equivalent and was left out`, "Check whether you need it.");
    }
  }
  return emit(draft);
}

function slugProject(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^[^a-z]+/, "").replace(/-+$/, "").slice(0, 40).replace(/-+$/, "") || "app";
}

function database(draft: Draft, d: unknown, at: (string | number)[]): void {
  if (!isObj(d) || !str(d.name)) {
    draft.approx(at, "database entry without a name was skipped", "Give it a `name`.");
    return;
  }
  const name = draft.nameFor(d.name as string, "database");
  const out: Obj = {};
  if (d.postgresMajorVersion !== undefined && /^\d+$/.test(String(d.postgresMajorVersion))) {
    const { major, note } = importedPostgresMajor(Number(d.postgresMajorVersion));
    out.postgres = major;
    if (note) draft.approx([...at, "postgresMajorVersion"], note.detail, note.suggestion, ["databases", name, "postgres"]);
  }
  if (typeof d.databaseName === "string" && /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(d.databaseName)) out.databaseName = d.databaseName;
  if (typeof d.user === "string" && /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(d.user)) out.user = d.user;
  if (typeof d.diskSizeGB === "number") out.disk = `${d.diskSizeGB}gb`;
  out.backups = { schedule: "daily" };
  draft.set(["databases", name], out, d.plan ? `Render plan '${String(d.plan)}': Berth runs PostgreSQL on your own server; backups and 7-day PITR are on by default.` : undefined);
  if (d.readReplicas || d.highAvailability) draft.approx([...at, d.readReplicas ? "readReplicas" : "highAvailability"], "read replicas and high availability are not supported", "Berth runs one primary with PITR backups.", ["databases", name]);
  if (d.ipAllowList) draft.approx([...at, "ipAllowList"], "ipAllowList maps only to service-level access", "Use `allowFrom: [service]` to restrict which services connect.", ["databases", name]);
}

const RUNTIMES: Record<string, "node" | "python" | "static" | "custom"> = { node: "node", python: "python", static: "static" };

function service(draft: Draft, s: Obj, at: (string | number)[], groups: Map<string, string>, repo?: RepoFiles): void {
  if (!str(s.name)) {
    draft.approx(at, "service without a name was skipped", "Give it a `name`.");
    return;
  }
  const type = String(s.type ?? "web");
  if (type === "redis" || type === "keyvalue") {
    const name = draft.nameFor(s.name as string, "keyValue");
    const out: Obj = { redis: 7 };
    if (typeof s.maxmemoryPolicy === "string") out.eviction = s.maxmemoryPolicy;
    draft.set(["keyValues", name], out, s.plan ? `Render plan '${String(s.plan)}': set maxmemory to the memory you want Redis to use.` : undefined);
    return;
  }
  const name = draft.nameFor(s.name as string, "service");
  const path = ["services", name];
  const runtimeRaw = str(s.runtime) ?? str(s.env);
  const isStatic = runtimeRaw === "static" || type === "static";
  const berthType = isStatic ? "static" : type === "pserv" ? "private" : type === "worker" || type === "background" ? "worker" : type === "cron" ? "cron" : "web";
  if (!["web", "pserv", "worker", "cron", "static"].includes(type)) draft.approx([...at, "type"], `service type '${type}' is not a Berth type; imported as a ${berthType} service`, "Check the type.", path);
  const out: Obj = { type: berthType };
  draft.set(path, out);
  if (runtimeRaw && !isStatic) {
    if (RUNTIMES[runtimeRaw]) {
      out.runtime = RUNTIMES[runtimeRaw];
      if (out.runtime === "node" || out.runtime === "python") draft.comment([...path, "runtime"], runtimeNote(out.runtime, "Render", `runtime '${runtimeRaw}'`));
    } else {
      out.runtime = "custom";
      const how = runtimeRaw === "docker" || runtimeRaw === "image" ? "Berth builds from commands, not a Dockerfile or image" : `Berth has no '${runtimeRaw}' runtime preset`;
      draft.approx([...at, s.runtime ? "runtime" : "env"], `runtime '${runtimeRaw}': ${how}`, "Set `build` and `start` to the commands your Dockerfile runs.", [...path, "runtime"]);
    }
  }
  if (str(s.rootDir)) out.rootDir = s.rootDir;
  const filter = isObj(s.buildFilter) ? s.buildFilter : undefined;
  const buildCommand = str(s.buildCommand);
  if (filter && (Array.isArray(filter.paths) || Array.isArray(filter.ignoredPaths))) {
    out.build = { ...(buildCommand ? { command: buildCommand } : {}), ...(Array.isArray(filter.paths) ? { paths: filter.paths.map(String) } : {}), ...(Array.isArray(filter.ignoredPaths) ? { ignoredPaths: filter.ignoredPaths.map(String) } : {}) };
  } else if (buildCommand) out.build = buildCommand;
  const start = str(s.startCommand) ?? str(s.dockerCommand);
  if (s.dockerCommand && !s.startCommand) draft.approx([...at, "dockerCommand"], "dockerCommand became the start command", "Make sure it runs without Docker.", [...path, "start"]);
  if (start) out[berthType === "cron" ? "command" : "start"] = start;
  if (berthType === "cron") {
    if (str(s.schedule)) out.schedule = s.schedule;
  } else if (berthType !== "static") {
    if (str(s.preDeployCommand)) out.preDeploy = s.preDeployCommand;
    if (isObj(s.initialDeployHook) || str(s.initialDeployHook)) out.initialDeploy = str(s.initialDeployHook) ?? str((s.initialDeployHook as Obj).command);
    if (berthType !== "worker" && str(s.healthCheckPath)?.startsWith("/")) out.health = { path: s.healthCheckPath };
    const sc = isObj(s.scaling) ? s.scaling : undefined;
    if (sc && typeof sc.minInstances === "number" && typeof sc.maxInstances === "number") {
      out.scaling = {
        min: sc.minInstances,
        max: Math.max(1, sc.maxInstances),
        ...(typeof sc.targetCPUPercent === "number" ? { cpu: `${sc.targetCPUPercent}%` } : {}),
        ...(typeof sc.targetMemoryPercent === "number" ? { memory: `${sc.targetMemoryPercent}%` } : {}),
      };
      if (!sc.targetCPUPercent && !sc.targetMemoryPercent) (out.scaling as Obj).cpu = "70%";
    } else if (typeof s.numInstances === "number" && s.numInstances !== 1) out.replicas = s.numInstances;
    if (typeof s.maxShutdownDelaySeconds === "number") out.shutdownDelay = `${s.maxShutdownDelaySeconds}s`;
    const plan = PLANS[String(s.plan ?? "").toLowerCase().replace(/_/g, " ")];
    if (plan) draft.set([...path, "limits"], { memory: plan.memory, cpu: plan.cpu }, `approx: limits of Render's '${String(s.plan)}' plan.`);
    if (isObj(s.disk) && str(s.disk.mountPath)?.startsWith("/")) {
      out.disks = [{ name: slugProject(String(s.disk.name ?? "data")), mountPath: s.disk.mountPath, ...(typeof s.disk.sizeGB === "number" ? { size: `${s.disk.sizeGB}gb` } : {}) }];
      if (out.scaling || (typeof out.replicas === "number" && out.replicas > 1)) {
        delete out.scaling;
        delete out.replicas;
        draft.approx([...at, "disk"], "a service with a disk runs one instance", "Scaling was removed.", [...path, "disks"]);
      }
    }
  }
  if (isStatic) {
    if (str(s.staticPublishPath)) out.publishDir = s.staticPublishPath;
    const headers = arr(s.headers).filter((h): h is Obj => isObj(h) && !!str(h.path) && !!str(h.name) && h.value !== undefined).map((h) => ({ path: h.path, name: h.name, value: String(h.value) }));
    if (headers.length) out.headers = headers;
    const routes = arr(s.routes).filter((r): r is Obj => isObj(r) && !!str(r.source) && !!str(r.destination));
    const redirects = routes.filter((r) => r.type === "redirect").map((r) => ({ from: r.source, to: r.destination }));
    const rewrites = routes.filter((r) => r.type !== "redirect");
    if (redirects.length) out.redirects = redirects;
    const spa = rewrites.find((r) => r.source === "/*" && r.destination === "/index.html");
    if (spa) out.spa = true;
    const rest = rewrites.filter((r) => r !== spa).map((r) => ({ from: r.source, to: r.destination }));
    if (rest.length) out.rewrites = rest;
  }
  if (berthType === "web" || berthType === "static") {
    const domains = arr(s.domains).filter(domainOk).map((d) => d.toLowerCase());
    if (domains.length) out.domains = [...new Set(domains)];
    if (arr(s.domains).length !== domains.length) draft.approx([...at, "domains"], "some domains are not valid host names and were left out", "Add them back in a valid form.", [...path, "domains"]);
  }
  const env = envVars(draft, arr(s.envVars), [...at, "envVars"], [...path, "env"], groups);
  if (Object.keys(env.env).length) out.env = env.env;
  if (env.groups.length) out.envGroups = env.groups;
  const varAt = (key: string) => arr(s.envVars).findIndex((v) => isObj(v) && v.key === key);
  carryRuntimePins(draft, out, { platform: "Render", sourcePath: (k) => [...at, "envVars", varAt(k)], outPath: path, ...(repo ? { repo } : {}), rootDir: str(s.rootDir) ?? "." });
  const previews = isObj(s.previews) ? s.previews : undefined;
  if (previews?.generation === "off" || s.pullRequestPreviewsEnabled === false) out.preview = { replicas: 0 };
  for (const k of ["region", "dockerfilePath", "dockerContext", "image", "registryCredential", "repo"] as const) {
    if (s[k] === undefined) continue;
    draft.approx([...at, k], `'${k}' has no Berth equivalent and was left out`, k === "region" ? "Berth runs where you install it." : "Berth builds from your repository with commands.", path);
  }
}

const RENDER_BUILTINS: Record<string, string> = {
  RENDER_EXTERNAL_URL: "publicUrl",
  RENDER_EXTERNAL_HOSTNAME: "publicHost",
  RENDER_INTERNAL_HOSTNAME: "host",
  PORT: "port",
};

/** Render's envVars list -> Berth's env map plus whole-group references. */
function envVars(draft: Draft, list: unknown[], at: (string | number)[], outPath: (string | number)[], groups: Map<string, string>): { env: Obj; groups: string[] } {
  const env: Obj = {};
  const used: string[] = [];
  list.forEach((item, i) => {
    const here = [...at, i];
    if (!isObj(item)) return;
    if (str(item.fromGroup) && !item.key) {
      const g = groups.get(item.fromGroup as string);
      if (!g) draft.approx([...here, "fromGroup"], `env group '${String(item.fromGroup)}' is not in this file and was left out`, "Define it under `envGroups:`.", outPath.slice(0, -1));
      else if (!used.includes(g)) used.push(g);
      return;
    }
    const key = str(item.key);
    if (!key || !ENV_KEY_OK.test(key)) {
      draft.approx(here, `env var '${key ?? "?"}' has no valid name and was skipped`, "Variable names use letters, digits and underscores.");
      return;
    }
    if (item.generateValue === true || item.generateValue === "true") env[key] = { generate: "secret" };
    else if (item.sync === false) env[key] = { secret: true };
    else if (isObj(item.fromDatabase)) {
      const db = draft.lookup(String(item.fromDatabase.name), ["database"]);
      const prop = String(item.fromDatabase.property ?? "connectionString");
      if (db) env[key] = { fromDatabase: `${db}.${prop}` };
      else {
        env[key] = { secret: true };
        draft.approx([...here, "fromDatabase"], `database '${String(item.fromDatabase.name)}' is not in this file`, "It became a secret to set with `berth secret set`.", [...outPath, key]);
      }
    } else if (isObj(item.fromService)) {
      const fs = item.fromService;
      const isKv = fs.type === "redis" || fs.type === "keyvalue";
      const target = draft.lookup(String(fs.name), isKv ? ["keyValue", "service"] : ["service", "keyValue"]);
      const kvTarget = target !== undefined && draft.lookup(String(fs.name), ["keyValue"]) === target;
      if (!target) {
        env[key] = { secret: true };
        draft.approx([...here, "fromService"], `service '${String(fs.name)}' is not in this file`, "It became a secret to set with `berth secret set`.", [...outPath, key]);
      } else if (str(fs.envVarKey)) {
        // Render's built-in variables are properties of the service in Berth.
        const builtin = RENDER_BUILTINS[fs.envVarKey as string];
        env[key] = builtin ? { fromService: `${target}.${builtin}` } : { fromService: { name: target, envVarKey: fs.envVarKey } };
      } else {
        const prop = String(fs.property ?? (kvTarget ? "connectionString" : "hostport"));
        env[key] = kvTarget ? { fromKeyValue: `${target}.${prop === "connectionString" ? "url" : prop}` } : { fromService: `${target}.${prop}` };
      }
    } else if (str(item.fromGroup)) {
      env[key] = { fromGroup: `${groups.get(item.fromGroup as string) ?? slugProject(item.fromGroup as string)}.${key}` };
    } else if ("value" in item) env[key] = literal(item.value);
    else {
      env[key] = { secret: true };
      draft.approx(here, `env var '${key}' has no value`, "It became a secret to set with `berth secret set`.");
    }
  });
  return { env, groups: used };
}
