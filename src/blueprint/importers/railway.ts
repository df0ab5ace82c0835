/**
 * railway.toml / railway.json -> berth.yaml. One file describes one service: build (builder,
 * buildCommand, watchPatterns), deploy (start, preDeploy, health check, restart policy,
 * replicas, cron schedule, draining) and per-environment overrides.
 */
import { parse as parseToml } from "smol-toml";
import { parseYamlSource } from "../source.ts";
import { Draft, ENV_KEY_OK, isObj, literal, type Obj } from "./draft.ts";
import { type ImportResult, emit } from "./emit.ts";
import { carryRuntimePins, type RepoFiles, runtimeNote } from "./runtime-pins.ts";

const str = (v: unknown): string | undefined => (typeof v === "string" && v.trim() ? v : undefined);

export function importRailway(text: string, opts: { file: string; project?: string; defaultProject?: string; service?: string; repo?: RepoFiles }): ImportResult {
  const isToml = !/\.json$/i.test(opts.file);
  let root: Obj = {};
  let locate: ((p: readonly (string | number)[]) => { line: number; column: number }) | undefined;
  let problem: string | undefined;
  try {
    if (isToml) root = parseToml(text) as Obj;
    else {
      const src = parseYamlSource(text.replace(/\r\n/g, "\n"));
      locate = src.locate;
      if (src.errors.length) problem = src.errors[0]!.message;
      else if (isObj(src.value)) root = src.value;
    }
  } catch (e) {
    problem = e instanceof Error ? e.message.split("\n")[0] : String(e);
  }
  const draft = new Draft(opts.file, opts.project ?? str(root.name) ?? opts.defaultProject ?? "app", locate);
  draft.header.push(`Imported from ${opts.file} by \`berth import\`. Review the comments marked "approx".`);
  if (problem) {
    draft.approx([], `the file could not be read (${problem})`, "Fix its syntax and import again.");
    return emit(draft);
  }
  const name = draft.nameFor(opts.service ?? "app", "service");
  const path = ["services", name];
  const service = mapService(draft, root, [], path, undefined, opts.repo);
  draft.set(path, service);
  const environments: Obj = {};
  const envs = isObj(root.environments) ? root.environments : {};
  for (const [envName, env] of Object.entries(envs)) {
    if (!isObj(env)) continue;
    const override = mapService(draft, env, ["environments", envName], ["environments", envName, "services", name], service.type as string, opts.repo);
    delete override.type;
    environments[envName] = Object.keys(override).length ? { services: { [name]: override } } : {};
  }
  if (!environments.production) environments.production = {};
  const prod = environments.production as Obj;
  prod.branch = "main";
  draft.set(["environments"], environments);
  for (const k of Object.keys(root)) {
    if (!["build", "deploy", "environments", "$schema", "variables", "name"].includes(k)) draft.approx([k], `'${k}' is not part of Railway's config and was left out`, "Check whether it meant something.");
  }
  return emit(draft);
}

/** Railway's per-service variables that are properties of a service in Berth. */
const RAILWAY_SERVICE_VARS: Record<string, string> = {
  RAILWAY_PRIVATE_DOMAIN: "host",
  PORT: "port",
  RAILWAY_PUBLIC_DOMAIN: "publicHost",
};

/**
 * A value using Railway's private network (`${{api.RAILWAY_PRIVATE_DOMAIN}}`, `${{api.PORT}}`,
 * `api.railway.internal`) as Berth interpolation of the service's internal address, or
 * undefined when it uses anything else Railway-specific.
 */
export function privateNetworking(value: string): { value: string; services: string[] } | undefined {
  const services = new Set<string>();
  let unsupported = false;
  let out = value.replace(/\$\{\{\s*([A-Za-z0-9_-]+)\.([A-Z_]+)\s*\}\}/g, (_m, svc: string, prop: string) => {
    const p = RAILWAY_SERVICE_VARS[prop];
    if (!p) {
      unsupported = true;
      return _m;
    }
    services.add(svc.toLowerCase());
    return `\${${svc.toLowerCase()}.${p}}`;
  });
  out = out.replace(/\b([a-z0-9-]+)\.railway\.internal\b/gi, (_m, svc: string) => {
    services.add(svc.toLowerCase());
    return `\${${svc.toLowerCase()}.host}`;
  });
  if (unsupported || services.size === 0 || out.includes("${{")) return undefined;
  return { value: out, services: [...services] };
}

/** Nixpacks providers Berth has a runtime for. */
const PROVIDERS: Record<string, "node" | "python"> = { node: "node", python: "python" };

function mapService(draft: Draft, src: Obj, at: (string | number)[], outPath: (string | number)[], knownType?: string, repo?: RepoFiles): Obj {
  const build = isObj(src.build) ? src.build : {};
  const deploy = isObj(src.deploy) ? src.deploy : {};
  const out: Obj = {};
  const cron = str(deploy.cronSchedule);
  const type = knownType ?? (cron ? "cron" : "web");
  out.type = type;
  if (!knownType && !cron) draft.comment([...outPath, "type"], "Railway does not say whether the service takes traffic: web assumed; use `worker` for a background process.");
  const builder = str(build.builder)?.toUpperCase();
  if (builder === "DOCKERFILE" || str(build.dockerfilePath)) {
    out.runtime = "custom";
    draft.approx([...at, "build", "builder"], "Dockerfile builds are not supported by the local engine", "Set `build` and `start` to the commands the Dockerfile runs.", [...outPath, "runtime"]);
  }
  // Nixpacks provider hints: `nixpacksPlan.providers` names the language runtimes to set up.
  const plan = isObj(build.nixpacksPlan) ? build.nixpacksPlan : undefined;
  const providers = Array.isArray(plan?.providers) ? plan.providers.map(String).filter((p) => p !== "...") : [];
  const known = providers.filter((p) => PROVIDERS[p]);
  if (known.length === 1 && out.runtime === undefined) {
    out.runtime = PROVIDERS[known[0]!];
    draft.comment([...outPath, "runtime"], runtimeNote(PROVIDERS[known[0]!]!, "Railway", `Nixpacks provider '${known[0]}'`));
  }
  for (const p of providers.filter((p) => !PROVIDERS[p] || known.length > 1)) {
    draft.approx([...at, "build", "nixpacksPlan", "providers"], `Nixpacks provider '${p}' has no Berth runtime${PROVIDERS[p] ? " on its own (several providers)" : ""}`, "Berth detects Node.js and Python from the files; for anything else set `runtime: custom` and the build and start commands.", outPath);
  }
  if (plan?.phases) draft.approx([...at, "build", "nixpacksPlan", "phases"], "Nixpacks phases (setup packages, install commands) were not imported", "Put what they install into `build`.", outPath);
  if (str(build.nixpacksConfigPath)) draft.approx([...at, "build", "nixpacksConfigPath"], `${String(build.nixpacksConfigPath)} was not read`, "Carry its providers and variables over by hand (`runtime`, `nodeVersion`, `pythonVersion`).", outPath);
  const watch = Array.isArray(build.watchPatterns) ? build.watchPatterns.map(String) : undefined;
  const buildCommand = str(build.buildCommand) ?? str(deploy.buildCommand);
  if (watch?.length) out.build = { ...(buildCommand ? { command: buildCommand } : {}), paths: watch };
  else if (buildCommand) out.build = buildCommand;
  const start = str(deploy.startCommand);
  if (start) out[type === "cron" ? "command" : "start"] = start;
  if (cron) out.schedule = cron;
  const pre = Array.isArray(deploy.preDeployCommand) ? deploy.preDeployCommand.map(String).join(" && ") : str(deploy.preDeployCommand);
  if (pre && type !== "cron") out.preDeploy = pre;
  if (type !== "cron") {
    const hp = str(deploy.healthcheckPath);
    const timeout = typeof deploy.healthcheckTimeout === "number" ? deploy.healthcheckTimeout : undefined;
    // Railway's healthcheckTimeout is how long a deploy waits for the first success.
    if (hp?.startsWith("/") && type !== "worker") out.health = { path: hp, ...(timeout ? { deployTimeout: `${timeout}s` } : {}) };
    const policy = str(deploy.restartPolicyType)?.toUpperCase();
    if (policy) {
      const p = policy === "ON_FAILURE" ? "on-failure" : policy === "NEVER" ? "never" : "always";
      out.restart = p === "on-failure" && typeof deploy.restartPolicyMaxRetries === "number" ? { policy: p, maxRetries: deploy.restartPolicyMaxRetries } : p;
    }
    if (typeof deploy.numReplicas === "number" && Number.isInteger(deploy.numReplicas) && deploy.numReplicas >= 0) out.replicas = deploy.numReplicas;
    if (typeof deploy.drainingSeconds === "number") out.shutdownDelay = `${deploy.drainingSeconds}s`;
  }
  if (deploy.sleepApplication) draft.approx([...at, "deploy", "sleepApplication"], "sleeping idle services is not supported", "The service runs continuously.", outPath);
  if (deploy.multiRegionConfig || deploy.region) draft.approx([...at, "deploy", deploy.region ? "region" : "multiRegionConfig"], "regions have no Berth equivalent", "Berth runs where you install it.", outPath);
  const env: Obj = {};
  const vars = { ...(isObj(build.env) ? build.env : {}), ...(isObj(src.variables) ? src.variables : {}) };
  for (const [key, value] of Object.entries(vars)) {
    if (!ENV_KEY_OK.test(key)) continue;
    const v = typeof value === "string" ? value : String(value);
    const privateRef = privateNetworking(v);
    if (/^\$\{\{\s*secret\(/.test(v)) env[key] = { generate: "secret" };
    else if (privateRef?.services.every((x) => draft.lookup(x, ["service"]) !== undefined)) {
      // Railway private networking (issue 22): the same names exist in Berth's private network.
      env[key] = privateRef.value;
    } else if (privateRef) {
      // One Railway file is one service: the others are not in this blueprint (yet).
      env[key] = { secret: true };
      draft.approx([...at, "variables", key], `'${key}' points at ${privateRef.services.map((x) => `'${x}'`).join(", ")} over Railway's private network (${v})`, `Add ${privateRef.services.join(", ")} to this blueprint (type: private, its port the one it listens on) and write ${key}: "${privateRef.value}" — Berth's internal address of the service.`, [...outPath, "env", key]);
    } else if (v.includes("${{")) {
      env[key] = { secret: true };
      draft.approx([...at, "variables", key], `'${key}' uses a Railway reference (${v})`, "Replace it with fromDatabase/fromService or set it with `berth secret set`.", [...outPath, "env", key]);
    } else env[key] = literal(value);
  }
  if (Object.keys(env).length) out.env = env;
  const varsAt = (key: string) => [...at, isObj(src.variables) && key in src.variables ? "variables" : "build", ...(isObj(src.variables) && key in src.variables ? [] : ["env"]), key];
  carryRuntimePins(draft, out, { platform: "Railway (Nixpacks)", sourcePath: varsAt, outPath, ...(repo ? { repo } : {}), rootDir: "." });
  return out;
}
