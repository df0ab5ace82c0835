/**
 * Procfile (+ app.json) -> berth.yaml. `web` becomes a web service, `release` its preDeploy
 * command, every other process type a worker; app.json adds formation (replicas), env (literal,
 * generated secret, required -> secret), add-ons (Postgres, Redis), postdeploy and review apps.
 */
import { parseYamlSource } from "../source.ts";
import { Draft, ENV_KEY_OK, isObj, literal, type Obj } from "./draft.ts";
import { type ImportResult, emit } from "./emit.ts";
import { carryRuntimePins, type RepoFiles, runtimeNote } from "./runtime-pins.ts";

export interface HerokuInput {
  readonly procfile?: { readonly file: string; readonly text: string };
  readonly appJson?: { readonly file: string; readonly text: string };
  readonly project?: string;
  /** Used when neither `project` nor app.json's `name` names the project. */
  readonly defaultProject?: string;
  readonly repo?: RepoFiles;
}

/** Heroku's official buildpacks Berth has a runtime for. */
function buildpackRuntime(url: string): "node" | "python" | undefined {
  if (/(^heroku\/nodejs$|heroku-buildpack-nodejs)/.test(url)) return "node";
  if (/(^heroku\/python$|heroku-buildpack-python)/.test(url)) return "python";
  return undefined;
}

/** Parses `name: command` lines; comments and blank lines are skipped. */
export function parseProcfile(text: string): { name: string; command: string; line: number }[] {
  const out: { name: string; command: string; line: number }[] = [];
  text.replace(/\r\n/g, "\n").split("\n").forEach((raw, i) => {
    const m = /^\s*([A-Za-z0-9_-]+)\s*:\s*(.+?)\s*$/.exec(raw);
    if (m && !raw.trimStart().startsWith("#")) out.push({ name: m[1]!, command: m[2]!, line: i + 1 });
  });
  return out;
}

const SCHEDULER_NAMES = /^(clock|scheduler|cron|beat|schedule)$/i;

export function importHeroku(input: HerokuInput): ImportResult {
  const file = input.procfile?.file ?? input.appJson?.file ?? "Procfile";
  let app: Obj = {};
  let locate: ((p: readonly (string | number)[]) => { line: number; column: number }) | undefined;
  let problem: string | undefined;
  if (input.appJson) {
    const src = parseYamlSource(input.appJson.text.replace(/\r\n/g, "\n"));
    locate = src.locate;
    if (src.errors.length) problem = src.errors[0]!.message;
    else if (isObj(src.value)) app = src.value;
  }
  const draft = new Draft(file, input.project ?? (typeof app.name === "string" ? app.name : (input.defaultProject ?? "app")), input.procfile ? undefined : locate);
  draft.header.push(`Imported from ${[input.procfile?.file, input.appJson?.file].filter(Boolean).join(" + ")} by \`berth import\`. Review the comments marked "approx".`);
  if (problem) draft.approx([], `app.json could not be read (${problem})`, "Fix its syntax and import again.");
  const procs = input.procfile ? parseProcfile(input.procfile.text) : [];
  const formation = isObj(app.formation) ? app.formation : {};
  if (procs.length === 0) {
    for (const name of Object.keys(formation)) procs.push({ name, command: "", line: 1 });
    if (procs.length === 0) procs.push({ name: "web", command: "", line: 1 });
    draft.comment(["services"], "No Procfile: start commands are detected from the build (package.json `start`).");
  }
  const release = procs.find((p) => p.name === "release");
  const addons = Array.isArray(app.addons) ? app.addons : [];
  const env: Obj = {};
  for (const a of addons) {
    const plan = typeof a === "string" ? a : isObj(a) ? String(a.plan ?? "") : "";
    const as = isObj(a) && typeof a.as === "string" ? a.as : undefined;
    if (plan.startsWith("heroku-postgresql")) {
      const db = draft.nameFor(as?.toLowerCase() ?? "db", "database");
      draft.set(["databases", db], { postgres: 16, backups: { schedule: "daily" } });
      env[`${as ?? "DATABASE"}_URL`] = { fromDatabase: `${db}.connectionString` };
    } else if (plan.startsWith("heroku-redis") || plan.startsWith("rediscloud") || plan.startsWith("heroku-keyvalue")) {
      const kv = draft.nameFor(as?.toLowerCase() ?? "redis", "keyValue");
      draft.set(["keyValues", kv], { redis: 7 });
      env[`${as ?? "REDIS"}_URL`] = { fromKeyValue: `${kv}.url` };
    } else if (plan) {
      draft.approx(["addons"], `add-on '${plan}' has no Berth equivalent`, "Set the variables it provided with `berth secret set`.");
    }
  }
  const appEnv = isObj(app.env) ? app.env : {};
  for (const [key, spec] of Object.entries(appEnv)) {
    if (!ENV_KEY_OK.test(key)) continue;
    if (!isObj(spec)) env[key] = literal(spec);
    else if (spec.generator === "secret") env[key] = { generate: "secret" };
    else if (spec.value !== undefined && spec.value !== "") env[key] = literal(spec.value);
    else env[key] = typeof spec.description === "string" && spec.description ? { secret: true, description: spec.description.slice(0, 200) } : { secret: true };
  }
  // Version variables become each service's runtime settings rather than shared variables.
  const pins: Obj = { env };
  const firstService = draft.nameFor(procs.find((p) => p.name !== "release")?.name ?? "web", "service");
  carryRuntimePins(draft, pins, { platform: "Heroku", sourcePath: (k) => ["env", k], outPath: ["services", firstService], ...(input.repo ? { repo: input.repo } : {}), rootDir: ".", variableWins: false });
  const buildpacks = (Array.isArray(app.buildpacks) ? app.buildpacks : []).map((b) => (isObj(b) ? String(b.url ?? "") : String(b))).filter(Boolean);
  const runtimes = [...new Set(buildpacks.map(buildpackRuntime).filter((r) => r !== undefined))];
  for (const url of buildpacks.filter((b) => !buildpackRuntime(b))) {
    draft.approx(["buildpacks"], `buildpack '${url}' has no Berth equivalent`, "Berth sets up Node.js and Python itself; put what the buildpack installs into `build` (or set `runtime: custom`).");
  }
  if (Object.keys(env).length) draft.set(["envGroups", "app"], env, "Variables of the Heroku app, shared by every process type.");
  const scripts = isObj(app.scripts) ? app.scripts : {};
  for (const p of procs) {
    if (p.name === "release") continue;
    const name = draft.nameFor(p.name, "service");
    const isWeb = p.name === "web";
    const out: Obj = { type: isWeb ? "web" : "worker" };
    if (p.command) out.start = p.command;
    const f = formation[p.name];
    const qty = isObj(f) && typeof f.quantity === "number" ? f.quantity : undefined;
    if (SCHEDULER_NAMES.test(p.name)) {
      out.singleton = true;
      draft.comment(["services", name, "type"], `'${p.name}' looks like a scheduler: it runs as a singleton so jobs never fire twice.`);
    } else if (qty !== undefined && qty !== 1) out.replicas = qty;
    if (isWeb && release) out.preDeploy = release.command;
    if (isWeb && typeof scripts.postdeploy === "string") out.initialDeploy = scripts.postdeploy;
    if (runtimes.length === 1) {
      out.runtime = runtimes[0];
      if (name === firstService) draft.comment(["services", name, "runtime"], runtimeNote(runtimes[0]!, "Heroku", `buildpack '${buildpacks.find((b) => buildpackRuntime(b) === runtimes[0])}'`));
    }
    if (pins.nodeVersion) out.nodeVersion = pins.nodeVersion;
    if (pins.pythonVersion) out.pythonVersion = pins.pythonVersion;
    if (Object.keys(env).length) out.envGroups = ["app"];
    draft.set(["services", name], out);
    if (isObj(f) && f.size) draft.comment(["services", name], `Heroku dyno size '${String(f.size)}': set \`limits\` if you need a cap.`);
  }
  const envs = isObj(app.environments) ? app.environments : {};
  if (isObj(envs.review)) draft.set(["previews", "mode"], "automatic", "From app.json `environments.review` (review apps).");
  if (isObj(envs.test)) draft.approx(["environments", "test"], "the test environment (Heroku CI) is not deployed by Berth", "Run tests in your CI.");
  draft.set(["environments"], { production: { branch: "main" } });
  return emit(draft);
}
