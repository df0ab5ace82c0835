/**
 * docker-compose.yml -> berth.yaml. Postgres and Redis images become managed datastores (and
 * connection strings pointing at them become references); other services become web services
 * (with published ports) or workers. healthcheck, depends_on, deploy.replicas/resources,
 * restart and named volumes map where Berth has an equivalent, with a comment where it is close.
 */
import { slug } from "../issues.ts";
import { DEFAULT_POSTGRES_MAJOR, importedPostgresMajor } from "../runtime-versions.ts";
import { parseYamlSource } from "../source.ts";
import { Draft, ENV_KEY_OK, isObj, literal, type Obj } from "./draft.ts";
import { type ImportResult, emit } from "./emit.ts";

const str = (v: unknown): string | undefined => (typeof v === "string" && v.trim() ? v : undefined);

/** Compose durations (`1m30s`, `10s`) -> Berth durations (the sum in seconds). */
function composeDuration(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  let total = 0;
  let matched = false;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    matched = true;
    total += Number(m[1]) * ({ ms: 0.001, s: 1, m: 60, h: 3600 } as Record<string, number>)[m[2]!]!;
  }
  return matched ? `${Math.max(1, Math.round(total))}s` : undefined;
}

function envEntries(env: unknown): [string, unknown][] {
  if (Array.isArray(env)) {
    return env.flatMap((e) => {
      const s = String(e);
      const i = s.indexOf("=");
      return i < 0 ? [[s, undefined] as [string, unknown]] : [[s.slice(0, i), s.slice(i + 1)] as [string, unknown]];
    });
  }
  return isObj(env) ? Object.entries(env) : [];
}

export function importCompose(text: string, opts: { file: string; project?: string; defaultProject?: string }): ImportResult {
  const src = parseYamlSource(text.replace(/\r\n/g, "\n"));
  const root = isObj(src.value) ? src.value : {};
  const draft = new Draft(opts.file, opts.project ?? str(root.name) ?? opts.defaultProject ?? "app", (p) => src.locate(p));
  draft.header.push(`Imported from ${opts.file} by \`berth import\`. Review the comments marked "approx".`);
  if (src.errors.length) {
    draft.approx([], `the file is not valid YAML (${src.errors[0]!.message})`, "Fix the YAML and import again.");
    return emit(draft);
  }
  const services = isObj(root.services) ? root.services : {};
  // Datastores first, so connection strings in the apps can be turned into references.
  const stores = new Map<string, { kind: "database" | "keyValue"; name: string }>();
  for (const [svcName, svc] of Object.entries(services)) {
    if (!isObj(svc)) continue;
    const image = str(svc.image) ?? "";
    const tag = /:(\d+)/.exec(image)?.[1];
    if (/(^|\/)(postgres|postgis\/postgis|bitnami\/postgresql)(:|$)/.test(image)) {
      const name = draft.nameFor(svcName, "database");
      const env = Object.fromEntries(envEntries(svc.environment));
      const dbName = str(env.POSTGRES_DB);
      const pg = tag ? importedPostgresMajor(Number(tag)) : { major: DEFAULT_POSTGRES_MAJOR };
      if (pg.note) draft.approx(["services", svcName, "image"], pg.note.detail, pg.note.suggestion, ["databases", name, "postgres"]);
      draft.set(["databases", name], { postgres: pg.major, ...(dbName && /^[a-zA-Z_]\w*$/.test(dbName) ? { databaseName: dbName } : {}), backups: { schedule: "daily" } }, `From the '${image}' container; Berth manages the server, its backups and PITR.`);
      stores.set(svcName, { kind: "database", name });
    } else if (/(^|\/)(redis|valkey\/valkey|bitnami\/redis)(:|$)/.test(image)) {
      const name = draft.nameFor(svcName, "keyValue");
      const cmd = Array.isArray(svc.command) ? svc.command.join(" ") : String(svc.command ?? "");
      draft.set(["keyValues", name], { redis: tag ? Number(tag) : 7, persistence: cmd.includes("--appendonly yes") ? "aof" : "rdb" });
      stores.set(svcName, { kind: "keyValue", name });
    }
  }
  for (const [svcName, svc] of Object.entries(services)) {
    if (!isObj(svc) || stores.has(svcName)) continue;
    const at = ["services", svcName];
    const name = draft.nameFor(svcName, "service");
    const path = ["services", name];
    const ports = Array.isArray(svc.ports) ? svc.ports : [];
    const out: Obj = { type: ports.length > 0 ? "web" : "worker" };
    draft.set(path, out);
    if (svc.image && !svc.build) draft.approx([...at, "image"], `runs the prebuilt image '${String(svc.image)}'`, "Berth builds from source: set `rootDir`, `build` and `start`.", path);
    const build = typeof svc.build === "string" ? svc.build : isObj(svc.build) ? str(svc.build.context) : undefined;
    if (build && build !== ".") out.rootDir = build.replace(/^\.\//, "");
    if (svc.build) draft.comment([...path, "type"], "Built from a Dockerfile under Compose: Berth detects the runtime; set `build` if it needs a command.");
    const command = Array.isArray(svc.command) ? svc.command.map((c) => (/\s/.test(String(c)) ? JSON.stringify(String(c)) : String(c))).join(" ") : str(svc.command);
    if (command) out.start = command;
    const container = ports.map((p) => /(\d+)(?:\/\w+)?$/.exec(String(isObj(p) ? (p.target ?? "") : p))?.[1]).find(Boolean);
    if (container && out.type === "web") out.port = Number(container);
    const hc = isObj(svc.healthcheck) ? svc.healthcheck : undefined;
    if (hc && out.type === "web") {
      const test = Array.isArray(hc.test) ? hc.test.join(" ") : String(hc.test ?? "");
      const path0 = /https?:\/\/[^/\s]+(\/[^\s"']*)/.exec(test)?.[1];
      const health: Obj = {};
      if (path0) health.path = path0;
      else draft.approx([...at, "healthcheck", "test"], "the health check is a command, not an HTTP path", "Berth probes HTTP: set `health.path`.", [...path, "health"]);
      const iv = composeDuration(hc.interval);
      const to = composeDuration(hc.timeout);
      const gr = composeDuration(hc.start_period);
      if (iv) health.interval = iv;
      if (to) health.timeout = to;
      if (gr) health.grace = gr;
      if (typeof hc.retries === "number" && hc.retries >= 1) health.unhealthyThreshold = hc.retries;
      if (Object.keys(health).length) out.health = health;
    }
    const deploy = isObj(svc.deploy) ? svc.deploy : {};
    if (typeof deploy.replicas === "number" && deploy.replicas !== 1) out.replicas = deploy.replicas;
    const lim = isObj(deploy.resources) && isObj(deploy.resources.limits) ? deploy.resources.limits : {};
    const limits: Obj = {};
    if (str(lim.memory) || typeof lim.memory === "number") limits.memory = String(lim.memory).toLowerCase().replace(/^(\d+(?:\.\d+)?)([kmg])$/, "$1$2b");
    if (lim.cpus !== undefined && Number(lim.cpus) > 0) limits.cpu = Number(lim.cpus);
    if (Object.keys(limits).length) out.limits = limits;
    const restart = str(svc.restart) ?? (isObj(deploy.restart_policy) ? str(deploy.restart_policy.condition) : undefined);
    if (restart) {
      const m = /^on-failure(?::(\d+))?$/.exec(restart);
      const maxAttempts = isObj(deploy.restart_policy) && typeof deploy.restart_policy.max_attempts === "number" ? deploy.restart_policy.max_attempts : undefined;
      out.restart = m ? { policy: "on-failure", ...(m[1] || maxAttempts ? { maxRetries: Number(m[1] ?? maxAttempts) } : {}) } : restart === "no" || restart === "none" ? "never" : "always";
    }
    const volumes = Array.isArray(svc.volumes) ? svc.volumes : [];
    const disks = volumes.flatMap((v) => {
      const [source, target] = typeof v === "string" ? v.split(":") : isObj(v) ? [String(v.source ?? ""), String(v.target ?? "")] : [];
      // Named volumes hold data; bind mounts (./src:/app) are a development convenience.
      return source && target?.startsWith("/") && /^[a-z][\w-]*$/i.test(source) ? [{ name: slug(source), mountPath: target }] : [];
    });
    if (disks.length) {
      out.disks = disks;
      if (out.replicas) delete out.replicas;
    }
    const deps = Array.isArray(svc.depends_on) ? svc.depends_on.map(String) : isObj(svc.depends_on) ? Object.keys(svc.depends_on) : [];
    if (deps.length) draft.comment([...path, "type"], `depends_on: ${deps.join(", ")} — Berth starts datastores first and waits for each deploy's health gate.`);
    const env: Obj = {};
    for (const [key, value] of envEntries(svc.environment)) {
      if (!ENV_KEY_OK.test(key)) continue;
      const s = value === undefined || value === null ? undefined : String(value);
      const store = s ? [...stores.entries()].find(([host]) => new RegExp(`[@/]${host}(:\\d+)?(/|$)`).test(s) && /^(postgres(ql)?|redis):\/\//.test(s)) : undefined;
      if (store) {
        env[key] = store[1].kind === "database" ? { fromDatabase: `${store[1].name}.connectionString` } : { fromKeyValue: `${store[1].name}.url` };
        draft.comment([...path, "env", key], `Was a connection string to the '${store[0]}' container.`);
      } else if (s === undefined) env[key] = { secret: true };
      else env[key] = literal(value);
    }
    if (svc.env_file) draft.approx([...at, "env_file"], "env_file is not read", "Set those variables with `berth secret set` or under `env:`.", path);
    if (Object.keys(env).length) out.env = env;
  }
  draft.set(["environments"], { production: { branch: "main" } });
  return emit(draft);
}
