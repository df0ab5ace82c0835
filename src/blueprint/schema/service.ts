/**
 * Services: a discriminated union on `type` (web, private, worker, cron, static). Shared parts
 * are spread into each variant so the JSON Schema lists exactly the fields a type accepts.
 */
import { z } from "zod";
import { nodeRange, pythonVersionParts } from "../runtime-versions.ts";
import { envMap } from "./env.ts";
import { command, cron, duration, MAX_REPLICAS, name, percentage, posInt, size, text, timezone } from "./fields.ts";

const build = z
  .union([
    command("Build command, run in rootDir."),
    z.strictObject({
      command: command("Build command, run in rootDir.").optional(),
      paths: z.array(z.string()).optional().describe("Only changes under these globs (relative to the repository root) trigger a build."),
      ignoredPaths: z.array(z.string()).optional().describe("Changes only under these globs never trigger a build."),
      limits: z
        .strictObject({
          memory: size("Memory of one build step (default 2gb).").optional(),
          cpu: z.union([z.number().positive(), z.string().regex(/^\d+m$/)]).optional().describe("CPU of one build step in cores or millicores (default 1)."),
          pids: z.number().int().min(16).max(65536).optional().describe("Processes and threads of one build step (default 1024)."),
        })
        .optional()
        .describe("Limits of each build step; builds run sandboxed as the project's user (see docs/design/security.md)."),
      timeout: duration("Longest one build step may take (default 15m).").optional(),
    }),
  ])
  .describe("How to build: a command, or `{ command, paths, ignoredPaths, limits, timeout }`.");

const restart = z
  .union([
    z.enum(["always", "on-failure", "never"]),
    z.strictObject({
      policy: z.enum(["always", "on-failure", "never"]).describe("When a crashed instance is restarted."),
      maxRetries: posInt("Restarts in a row before giving up (on-failure only; default 10).").optional(),
    }),
  ])
  .describe("Restart policy: `always` (default), `on-failure` (with maxRetries) or `never`.");

const health = z
  .union([
    text("urlPath", "Shorthand for `{ path }`."),
    z.strictObject({
      path: text("urlPath", "HTTP path probed on the service's port; a 2xx or 3xx answer is healthy.").optional(),
      interval: duration("Time between probes (default 1s).").optional(),
      timeout: duration("How long one probe may take (default 5s).").optional(),
      healthyThreshold: z.number().int().min(1).optional().describe("Consecutive successes before an instance is healthy (default 1)."),
      unhealthyThreshold: z.number().int().min(1).optional().describe("Consecutive failures before an instance is unhealthy (default 3)."),
      grace: duration("Time after start during which failures do not count; workers must stay up this long (default 5s).").optional(),
      deployTimeout: duration("How long a deploy waits for new instances to become healthy (default 60s).").optional(),
    }),
  ])
  .describe("Health check: a path, or the full settings.");

const scaling = z
  .strictObject({
    min: z.number().int().min(0).max(MAX_REPLICAS).describe("Fewest instances."),
    max: z.number().int().min(1).max(MAX_REPLICAS).describe("Most instances."),
    cpu: percentage("Target average CPU use.").optional(),
    memory: percentage("Target average memory use.").optional(),
    queue: z
      .strictObject({
        keyValue: z.string().describe("The key-value store holding the queue."),
        key: z.string().describe("The Redis list (or BullMQ wait list) whose length is measured."),
        targetPerReplica: z.number().int().min(1).describe("Queue length per instance to aim for."),
      })
      .optional()
      .describe("Scale on queue depth."),
    p95: duration("Target p95 request latency at the router (web services).").optional(),
    stabilizationWindow: duration("A scale-down waits until every recommendation in this window allows it (default 5m).").optional(),
    cooldown: duration("Least time between two scaling changes (default 1m).").optional(),
  })
  .describe("Autoscaling between min and max instances on CPU, memory or queue depth.");

const limits = z
  .strictObject({
    memory: size("Memory limit; the instance is OOM-killed above it.").optional(),
    cpu: z.union([z.number().positive(), z.string().regex(/^\d+m$/)]).optional().describe("CPU limit in cores (0.5) or millicores (500m)."),
    pids: z.number().int().min(16).max(65536).optional().describe("Most processes and threads at once (default 512); a fork past it fails and the instance is stopped."),
  })
  .describe("Resource limits per instance (defaults: 512mb memory, 512 processes; see docs/design/security.md).");

const disk = z.strictObject({
  name: name("Disk name, unique in the service."),
  mountPath: text("mountPath", "Absolute path where the disk is mounted in the instance (not under /usr, /etc, /proc, /dev, /sys, /tmp)."),
  size: size("Disk size (default 1gb).").optional(),
});

const route = z.strictObject({
  path: text("urlPath", "Path prefix routed to this service (RFC 3986 path characters; percent-encode others)."),
  domain: text("hostname", "Only on this domain (default: every domain of the environment).").optional(),
  stripPrefix: z.boolean().optional().describe("Remove the prefix before forwarding (default false)."),
});

const preview = z
  .strictObject({
    replicas: z.number().int().min(0).max(MAX_REPLICAS).optional().describe("Instances in preview environments (default 1; 0 skips the service)."),
    limits: limits.optional(),
    env: envMap.optional(),
  })
  .describe("Size and values of this service in preview environments.");

const common = {
  runtime: z.enum(["node", "python", "static", "custom"]).optional().describe("Build runtime; detected from the files in rootDir when absent."),
  nodeVersion: z
    .string()
    .min(1)
    .refine((v) => nodeRange(v) !== undefined, { message: "not a Node.js version or range: write `20.x`, `22.11.0`, `>=20 <23` or an nvm alias such as `lts/*`" })
    .optional()
    .describe("Node.js version or range (`20.x`, `22.11.0`, `lts/*`) when the repository pins none: package.json `engines.node`, `.node-version` and `.nvmrc` win over it. Default: the current LTS (24). A `NODE_VERSION` variable means the same."),
  pythonVersion: z
    .string()
    .min(1)
    .refine((v) => pythonVersionParts(v) !== undefined, { message: "not a Python version: write `3.11` or `3.11.4`" })
    .optional()
    .describe("Python version (`3.11`) when the repository pins none (`.python-version`, `runtime.txt` win). Honoured when that Python is installed on the machine; otherwise the build warns and uses python3. A `PYTHON_VERSION` variable means the same."),
  rootDir: text("relativePath", "Directory (relative to the repository root) the service builds and runs in (default `.`); it may not leave the repository.").optional(),
  build: build.optional(),
  env: envMap.optional(),
  envGroups: z.array(z.string()).optional().describe("Env groups whose variables this service receives."),
  preview: preview.optional(),
};

const runs = {
  start: command("Start command, run by /bin/sh in rootDir; detected from the build when absent.").optional(),
  preDeploy: command("Runs once per deploy, after the build and before new instances start (migrations).").optional(),
  initialDeploy: command("Runs once, on the very first deploy of an environment (seeding).").optional(),
  replicas: z.number().int().min(0).max(MAX_REPLICAS).optional().describe("Fixed number of instances (default 1)."),
  scaling: scaling.optional(),
  singleton: z.boolean().optional().describe("Exactly one instance, never two at once, even during a deploy (stop-first)."),
  restart: restart.optional(),
  shutdownDelay: duration("Time between SIGTERM and SIGKILL when an instance stops (default 30s).").optional(),
  limits: limits.optional(),
  disks: z.array(disk).optional().describe("Persistent disks that survive deploys."),
};

const listening = {
  port: z.number().int().min(1).max(65535).optional().describe("Port the service listens on; passed as $PORT (default: assigned by Berth). Ports below 1024, 22 and the daemon's and router's own are refused unless the owner allows them."),
  health: health.optional(),
};

const routed = {
  domains: z.array(text("domain", "A host name (RFC 1123), optionally `*.` for a wildcard.")).optional().describe("Public domains routed to this service (TLS certificates are obtained automatically)."),
  routes: z.array(route).optional().describe("Path routes: serve this service under a path prefix."),
  sleepAfter: duration("Stop the service after this long without a request through the router; the first request afterwards starts it again and is answered once it is healthy (default: never; previews: `previews.sleepAfter`).").optional(),
};

export const webService = z.strictObject({ type: z.literal("web").describe("A public HTTP service behind the router."), ...common, ...runs, ...listening, ...routed });
export const privateService = z.strictObject({
  type: z.literal("private").describe("An HTTP/TCP service reachable only by the environment's other services, at `<name>:<port>` (also `<name>.<environment>.internal`)."),
  ...common,
  ...runs,
  ...listening,
  protocol: z.enum(["http", "tcp"]).optional().describe("How its internal address carries traffic: `http` (default; balanced per request) or `tcp` (bytes passed through: gRPC, databases, line protocols; health is a TCP connect)."),
});
export const workerService = z.strictObject({
  type: z.literal("worker").describe("A background process with no port."),
  ...common,
  ...runs,
  health: z.strictObject({ grace: duration("Time the process must stay up to count as started (default 5s).").optional(), deployTimeout: duration("How long a deploy waits (default 60s).").optional() }).optional().describe("Liveness settings."),
});

export const cronService = z.strictObject({
  type: z.literal("cron").describe("A scheduled job."),
  ...common,
  schedule: cron("Cron expression (5 fields, or @hourly, @daily, ...); required.").optional(),
  command: command("What each run executes; required.").optional(),
  timezone: timezone("IANA time zone of the schedule (default UTC).").optional(),
  concurrency: z.enum(["forbid", "allow", "replace"]).optional().describe("When a run is due while another runs: forbid (skip, default), allow, replace (stop the old one)."),
  maxConcurrent: z.number().int().min(1).optional().describe("Most runs at once when concurrency is `allow` (default 1)."),
  timeout: duration("Longest a run may take before it is stopped (default 1h).").optional(),
  retries: z
    .union([
      z.number().int().min(0),
      z.strictObject({
        max: z.number().int().min(0).describe("Retries after a failed run."),
        backoff: duration("Delay before the first retry (default 30s).").optional(),
        maxBackoff: duration("Longest delay between retries (default 10m).").optional(),
        factor: z.number().min(1).optional().describe("Multiplier of the delay per retry (default 2)."),
      }),
    ])
    .optional()
    .describe("Retries of a failed run, with exponential backoff."),
  missedRuns: z.enum(["skip", "run-once", "run-all"]).optional().describe("Runs missed while Berth was down: skip (default), run-once, run-all."),
  limits: limits.optional(),
});

const header = z.strictObject({
  path: text("urlGlob", "Path glob the header applies to, e.g. `/assets/*`."),
  name: text("headerName", "Header name."),
  value: text("headerValue", "Header value."),
});

export const staticService = z.strictObject({
  type: z.literal("static").describe("A static site served by Berth's file server."),
  ...common,
  publishDir: text("relativePath", "Directory (relative to rootDir) holding the built files (default `dist`); it may not leave rootDir.").optional(),
  spa: z.boolean().optional().describe("Serve index.html for unknown paths (single-page apps)."),
  headers: z.array(header).optional().describe("Response headers by path."),
  redirects: z
    .array(z.strictObject({
        from: text("urlGlob", "Path (or glob ending in *) to redirect."),
        to: text("target", "Target path or http(s) URL."),
        status: z.union([z.literal(301), z.literal(302), z.literal(307), z.literal(308)]).optional().describe("HTTP status (default 301)."),
      }))
    .optional()
    .describe("Redirects (default status 301)."),
  rewrites: z.array(z.strictObject({ from: text("urlGlob", "Requested path (or glob ending in *)."), to: text("urlPath", "File served instead.") })).optional().describe("Rewrites: serve `to` for requests to `from`."),
  replicas: z.number().int().min(1).max(MAX_REPLICAS).optional().describe("Instances of the file server (default 1)."),
  ...routed,
});

export const service = z.discriminatedUnion("type", [webService, privateService, workerService, cronService, staticService]).describe("A service; `type` selects its fields.");

/** Field names each service type accepts; used for "applies only to X" hints. */
export const serviceKeysByType: Record<string, readonly string[]> = {
  web: Object.keys(webService.shape),
  private: Object.keys(privateService.shape),
  worker: Object.keys(workerService.shape),
  cron: Object.keys(cronService.shape),
  static: Object.keys(staticService.shape),
};
