/**
 * The twenty-odd most likely mistakes in a berth.yaml: each must be reported with the right code,
 * a message naming the field, the exact line and column, and a hint that says what to write.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseBlueprint } from "./index.ts";

const HEAD = "version: 1\nproject: demo\n";

interface Case {
  readonly name: string;
  readonly yaml: string;
  readonly code: string;
  readonly line: number;
  readonly column: number;
  readonly message: RegExp;
  readonly hint: RegExp;
}

const cases: Case[] = [
  {
    name: "misspelled service field",
    yaml: `${HEAD}services:\n  api:\n    type: web\n    strat: npm start\n`,
    code: "BERTH_BLUEPRINT_UNKNOWN_KEY", line: 6, column: 5, message: /unknown field 'strat' in services\.api/, hint: /Did you mean 'start'\?/,
  },
  {
    name: "misspelled top-level key",
    yaml: `${HEAD}servics:\n  api: { type: web }\n`,
    code: "BERTH_BLUEPRINT_UNKNOWN_KEY", line: 3, column: 1, message: /unknown field 'servics'/, hint: /Did you mean 'services'\?/,
  },
  {
    name: "misspelled nested key",
    yaml: `${HEAD}services:\n  api:\n    type: web\n    health:\n      pth: /health\n`,
    code: "BERTH_BLUEPRINT_UNKNOWN_KEY", line: 7, column: 7, message: /'pth' in services\.api\.health/, hint: /Did you mean 'path'\?/,
  },
  {
    name: "quoted number",
    yaml: `${HEAD}services:\n  api:\n    type: web\n    port: "8080"\n`,
    code: "BERTH_BLUEPRINT_WRONG_TYPE", line: 6, column: 11, message: /services\.api\.port must be a number, got string "8080"/, hint: /Remove the quotes: 8080/,
  },
  {
    name: "scalar where a list is expected",
    yaml: `${HEAD}services:\n  api:\n    type: web\n    envGroups: shared\n`,
    code: "BERTH_BLUEPRINT_WRONG_TYPE", line: 6, column: 16, message: /envGroups must be a list/, hint: /Write a list: \[shared\]/,
  },
  {
    name: "unknown service type",
    yaml: `${HEAD}services:\n  api:\n    type: webservice\n`,
    code: "BERTH_BLUEPRINT_BAD_CHOICE", line: 5, column: 11, message: /type must be one of web, private, worker, cron, static, got 'webservice'/, hint: /Did you mean 'web'\?/,
  },
  {
    name: "missing service type",
    yaml: `${HEAD}services:\n  api:\n    start: npm start\n`,
    code: "BERTH_BLUEPRINT_MISSING_FIELD", line: 4, column: 3, message: /missing required field 'type' in services\.api/, hint: /Add `type:`/,
  },
  {
    name: "duration without a known unit",
    yaml: `${HEAD}services:\n  api:\n    type: web\n    health: { path: /health, timeout: 30 secs }\n`,
    code: "BERTH_BLUEPRINT_BAD_DURATION", line: 6, column: 39, message: /health\.timeout: '30 secs' is not a duration/, hint: /30s, 5m/,
  },
  {
    name: "size with a wrong unit",
    yaml: `${HEAD}keyValues:\n  cache: { redis: 7, maxmemory: 256 megs }\n`,
    code: "BERTH_BLUEPRINT_BAD_SIZE", line: 4, column: 33, message: /keyValues\.cache\.maxmemory: '256 megs' is not a size/, hint: /256mb/,
  },
  {
    name: "invalid cron expression",
    yaml: `${HEAD}services:\n  digest:\n    type: cron\n    command: node digest.js\n    schedule: "61 * * * *"\n`,
    code: "BERTH_BLUEPRINT_BAD_CRON", line: 7, column: 15, message: /'61 \* \* \* \*' is not a valid cron expression \(.*minute.*\)/, hint: /\*\/15 \* \* \* \*/,
  },
  {
    name: "cron without a schedule",
    yaml: `${HEAD}services:\n  digest:\n    type: cron\n    command: node digest.js\n`,
    code: "BERTH_BLUEPRINT_CRON_SCHEDULE_MISSING", line: 4, column: 3, message: /cron service 'digest' has no schedule/, hint: /Add `schedule:/,
  },
  {
    name: "singleton with replicas",
    yaml: `${HEAD}services:\n  scheduler:\n    type: worker\n    start: node s.js\n    singleton: true\n    replicas: 3\n`,
    code: "BERTH_BLUEPRINT_SINGLETON_REPLICAS", line: 8, column: 5, message: /'scheduler' is a singleton but asks for 3 replicas/, hint: /remove `replicas`/,
  },
  {
    name: "duplicate domain",
    yaml: `${HEAD}services:\n  a:\n    type: web\n    domains: [app.example.com]\n  b:\n    type: static\n    domains: [www.example.com, app.example.com]\n`,
    code: "BERTH_BLUEPRINT_DUPLICATE_DOMAIN", line: 9, column: 32, message: /domain 'app\.example\.com' is used by both 'a' and 'b'/, hint: /remove it from one of them/,
  },
  {
    name: "two disks at one mount path",
    yaml: `${HEAD}services:\n  api:\n    type: web\n    disks:\n      - { name: a, mountPath: /data }\n      - { name: b, mountPath: /data }\n`,
    code: "BERTH_BLUEPRINT_DUPLICATE_MOUNT", line: 8, column: 31, message: /mounts two disks at \/data/, hint: /its own mountPath/,
  },
  {
    name: "disk with autoscaling",
    yaml: `${HEAD}services:\n  api:\n    type: web\n    disks: [{ name: uploads, mountPath: /data }]\n    scaling: { min: 1, max: 3, cpu: 70% }\n`,
    code: "BERTH_BLUEPRINT_DISK_AUTOSCALING", line: 7, column: 5, message: /'api' has a disk, so it cannot autoscale/, hint: /replicas: 1/,
  },
  {
    name: "unknown database reference",
    yaml: `${HEAD}services:\n  api:\n    type: web\n    env:\n      DATABASE_URL: { fromDatabase: dbb.connectionString }\ndatabases:\n  db: { postgres: 16 }\n`,
    code: "BERTH_BLUEPRINT_UNKNOWN_REFERENCE", line: 7, column: 37, message: /refers to database 'dbb', which is not defined/, hint: /Did you mean 'db'\?/,
  },
  {
    name: "unknown property of a database",
    yaml: `${HEAD}services:\n  api:\n    type: web\n    env:\n      DATABASE_URL: { fromDatabase: db.connectionStrng }\ndatabases:\n  db: { postgres: 16 }\n`,
    code: "BERTH_BLUEPRINT_UNKNOWN_PROPERTY", line: 7, column: 37, message: /database 'db' has no property 'connectionStrng'/, hint: /connectionString/,
  },
  {
    name: "a key-value store used as a database",
    yaml: `${HEAD}services:\n  api:\n    type: web\n    env:\n      REDIS_URL: { fromDatabase: cache }\nkeyValues:\n  cache: { redis: 7 }\n`,
    code: "BERTH_BLUEPRINT_UNKNOWN_REFERENCE", line: 7, column: 34, message: /refers to database 'cache'/, hint: /'cache' is a key-value store: use fromKeyValue/,
  },
  {
    name: "interpolation cycle",
    yaml: `${HEAD}services:\n  api:\n    type: web\n    env:\n      A: "x-\${B}"\n      B: "y-\${A}"\n`,
    code: "BERTH_BLUEPRINT_INTERPOLATION_CYCLE", line: 7, column: 10, message: /in a cycle: A -> B -> A/, hint: /Break the cycle/,
  },
  {
    name: "interpolation of an unknown name",
    yaml: `${HEAD}services:\n  api:\n    type: web\n    env:\n      URL: "https://\${apii.host}"\n`,
    code: "BERTH_BLUEPRINT_UNKNOWN_REFERENCE", line: 7, column: 12, message: /refers to service, database or key-value store 'apii'/, hint: /Did you mean 'api'\?/,
  },
  {
    name: "YAML syntax error",
    yaml: `${HEAD}services:\n  api:\n    type: web\n   start: npm start\n`,
    code: "BERTH_BLUEPRINT_YAML", line: 6, column: 1, message: /YAML syntax error/, hint: /indentation/,
  },
  {
    name: "a service defined twice",
    yaml: `${HEAD}services:\n  api: { type: web }\n  api: { type: worker }\n`,
    code: "BERTH_BLUEPRINT_YAML", line: 5, column: 3, message: /Map keys must be unique/, hint: /only once in a mapping/,
  },
  {
    name: "bad restart policy",
    yaml: `${HEAD}services:\n  api:\n    type: web\n    restart: sometimes\n`,
    code: "BERTH_BLUEPRINT_BAD_CHOICE", line: 6, column: 14, message: /restart must be one of always, on-failure, never, got 'sometimes'/, hint: /Choose one of/,
  },
  {
    name: "field of another service type",
    yaml: `${HEAD}services:\n  api:\n    type: web\n    schedule: "@hourly"\n`,
    code: "BERTH_BLUEPRINT_FIELD_NOT_FOR_TYPE", line: 6, column: 5, message: /'schedule' does not apply to a web service/, hint: /applies to cron services/,
  },
  {
    name: "invalid service name",
    yaml: `${HEAD}services:\n  My_API:\n    type: web\n`,
    code: "BERTH_BLUEPRINT_BAD_NAME", line: 4, column: 3, message: /service name 'My_API' is invalid/, hint: /'my-api'/,
  },
  {
    name: "unknown env group",
    yaml: `${HEAD}services:\n  api:\n    type: web\n    envGroups: [secrets]\nenvGroups:\n  secret: { A: 1 }\n`,
    code: "BERTH_BLUEPRINT_UNKNOWN_REFERENCE", line: 6, column: 17, message: /refers to env group 'secrets'/, hint: /Did you mean 'secret'\?/,
  },
  {
    name: "unsupported version",
    yaml: "version: 2\nproject: demo\n",
    code: "BERTH_BLUEPRINT_UNSUPPORTED_VERSION", line: 1, column: 10, message: /version 2 is not supported/, hint: /version: 1/,
  },
  {
    name: "bad time zone",
    yaml: `${HEAD}services:\n  job:\n    type: cron\n    command: x\n    schedule: "@daily"\n    timezone: Europe/Zurch\n`,
    code: "BERTH_BLUEPRINT_BAD_TIMEZONE", line: 8, column: 15, message: /'Europe\/Zurch' is not an IANA time zone/, hint: /Europe\/Zurich/,
  },
  {
    name: "environment override breaking a rule points at the override",
    yaml: `${HEAD}services:\n  s:\n    type: worker\n    start: x\n    singleton: true\nenvironments:\n  production:\n    services:\n      s: { replicas: 2 }\n`,
    code: "BERTH_BLUEPRINT_SINGLETON_REPLICAS", line: 11, column: 12, message: /environment 'production': service 's' is a singleton but asks for 2 replicas/, hint: /remove `replicas`/,
  },
  {
    name: "override of an unknown service",
    yaml: `${HEAD}services:\n  worker:\n    type: worker\n    start: x\nenvironments:\n  production:\n    services:\n      wroker: { replicas: 2 }\n`,
    code: "BERTH_BLUEPRINT_UNKNOWN_REFERENCE", line: 10, column: 7, message: /refers to service 'wroker'/, hint: /Did you mean 'worker'\?/,
  },
  {
    name: "two sources in one variable",
    yaml: `${HEAD}services:\n  api:\n    type: web\n    env:\n      KEY: { value: a, secret: true }\n`,
    code: "BERTH_BLUEPRINT_BAD_VALUE", line: 7, column: 12, message: /names 2 sources \(value, secret\)/, hint: /exactly one of/,
  },
  {
    name: "same name for a service and a database",
    yaml: `${HEAD}services:\n  db:\n    type: worker\n    start: x\ndatabases:\n  db: {}\n`,
    code: "BERTH_BLUEPRINT_DUPLICATE_NAME", line: 8, column: 3, message: /the name 'db' is used by both a service and a database/, hint: /rename one of them/,
  },
  {
    name: "replicas and scaling together",
    yaml: `${HEAD}services:\n  api:\n    type: web\n    replicas: 2\n    scaling: { min: 1, max: 3, cpu: 70% }\n`,
    code: "BERTH_BLUEPRINT_REPLICAS_AND_SCALING", line: 7, column: 5, message: /sets both `replicas` and `scaling`/, hint: /not both/,
  },
  {
    name: "a service outside a database's allowFrom",
    yaml: `${HEAD}services:\n  web:\n    type: web\n    env: { DB: { fromDatabase: db } }\ndatabases:\n  db: { allowFrom: [api] }\n`,
    code: "BERTH_BLUEPRINT_ACCESS_DENIED", line: 6, column: 16, message: /service 'web' may not reach database 'db' \(allowFrom: api\)/, hint: /Add 'web' to `allowFrom`/,
  },
  {
    name: "unterminated interpolation",
    yaml: `${HEAD}services:\n  api:\n    type: web\n    env:\n      URL: "https://\${api.host"\n`,
    code: "BERTH_BLUEPRINT_BAD_INTERPOLATION", line: 7, column: 12, message: /bad interpolation .*missing closing \}/, hint: /escape a literal \$ as \$\$/,
  },
  {
    name: "a worker referenced for its address",
    yaml: `${HEAD}services:\n  jobs:\n    type: worker\n    start: x\n  api:\n    type: web\n    env: { JOBS: { fromService: jobs.host } }\n`,
    code: "BERTH_BLUEPRINT_BAD_VALUE", line: 9, column: 18, message: /'jobs' is a worker and has no network address/, hint: /Reference a web service/,
  },
  {
    name: "percentage out of range",
    yaml: `${HEAD}services:\n  api:\n    type: web\n    scaling: { min: 1, max: 2, cpu: 170% }\n`,
    code: "BERTH_BLUEPRINT_BAD_PERCENT", line: 6, column: 37, message: /scaling\.cpu: '170%' is not a percentage/, hint: /between 1 and 100/,
  },
];

describe("the most likely blueprint mistakes", () => {
  for (const c of cases) {
    test(c.name, () => {
      const r = parseBlueprint(c.yaml, { file: "berth.yaml" });
      assert.equal(r.ok, false, "expected the blueprint to be rejected");
      if (r.ok) return;
      const d = r.errors.find((e) => e.code === c.code);
      assert.ok(d, `no ${c.code} among ${JSON.stringify(r.errors.map((e) => `${e.code} ${e.message}`))}`);
      assert.match(d.message, c.message);
      assert.match(d.hint, c.hint);
      assert.deepEqual([d.line, d.column], [c.line, c.column], `location of: ${d.message}`);
      assert.equal(d.file, "berth.yaml");
    });
  }
});
