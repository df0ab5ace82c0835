/**
 * Benchmark: parse + validate a generated 200-service blueprint (goal: < 100 ms).
 * `node bench/blueprint-parse.ts [services] [rounds]` prints the median and the first (cold) run.
 */
import { stringify } from "yaml";
import { parseBlueprint, resolveEnvironment } from "../src/blueprint/index.ts";

/** A realistic blueprint: mixed service types, references, groups, two environments. */
export function generateBlueprint(count: number): string {
  const services: Record<string, unknown> = {};
  const types = ["web", "worker", "private", "cron", "static"] as const;
  for (let i = 0; i < count; i++) {
    const type = types[i % types.length]!;
    const name = `svc-${i}`;
    const env = {
      DATABASE_URL: { fromDatabase: `db-${i % 10}.connectionString` },
      REDIS_URL: { fromKeyValue: `cache-${i % 5}.url` },
      SECRET: { generate: "secret" },
      API_KEY: { secret: true },
      SELF: `\${svc-0.host}:\${PORT}`,
      LEVEL: "info",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: blueprint interpolation syntax, not a JS template
      DERIVED: "${LEVEL}-x",
    };
    if (type === "cron") services[name] = { type, command: "node job.js", schedule: "*/15 * * * *", timeout: "10m", retries: { max: 3, backoff: "30s" }, env, envGroups: ["shared"] };
    else if (type === "static") services[name] = { type, build: "npm run build", spa: true, domains: [`s${i}.example.com`], env: { API: `\${svc-0.publicUrl}` } };
    else services[name] = {
      type,
      rootDir: `apps/${name}`,
      build: "npm ci && npm run build",
      start: "node dist/main.js",
      ...(type === "worker" ? {} : { health: { path: "/health", timeout: "5s" } }),
      ...(i % 3 === 0 ? { scaling: { min: 1, max: 4, cpu: "70%" } } : { replicas: 2 }),
      restart: { policy: "on-failure", maxRetries: 5 },
      limits: { memory: "512mb", cpu: "500m" },
      ...(type === "web" ? { domains: [`app${i}.example.com`] } : {}),
      env,
      envGroups: ["shared"],
    };
  }
  const databases = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`db-${i}`, { postgres: 16, backups: { schedule: "daily", keep: { daily: 7 } }, pitr: "7d" }]));
  const keyValues = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`cache-${i}`, { redis: 7, maxmemory: "256mb", eviction: "allkeys-lru" }]));
  return stringify({
    version: 1,
    project: "bench",
    services,
    databases,
    keyValues,
    envGroups: { shared: { REGION: "eu", TOKEN: { secret: true } } },
    environments: { staging: { branch: "develop", services: { "svc-1": { replicas: 1 } } }, production: { branch: "main", approval: "required" } },
  });
}

const count = Number(process.argv[2] ?? 200);
const rounds = Number(process.argv[3] ?? 15);
const text = generateBlueprint(count);
const times: number[] = [];
for (let r = 0; r < rounds; r++) {
  const t0 = performance.now();
  const result = parseBlueprint(text, { file: "bench.yaml" });
  times.push(performance.now() - t0);
  if (!result.ok) throw new Error(`generated blueprint is invalid: ${result.errors[0]?.message}`);
  if (r === 0) resolveEnvironment(result.blueprint, "production");
}
const sorted = [...times].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)]!;
console.log(`blueprint-parse: ${count} services, ${text.split("\n").length} lines — first run ${times[0]!.toFixed(1)} ms, median of ${rounds} ${median.toFixed(1)} ms (goal < 100 ms)`);
