/** The whole blueprint: project, services, datastores, env groups, environments, previews. */
import { z } from "zod";
import { envMap } from "./env.ts";
import { duration, name, nameKey } from "./fields.ts";
import { database, keyValue } from "./resources.ts";
import { service } from "./service.ts";
import { alerts, logDrains } from "./observe.ts";

const overrides = z.record(z.string(), z.record(z.string(), z.unknown()));

/** Issue 20: where an environment's services run. */
export const engineField = z
  .enum(["local", "swarm"])
  .describe("Where the services run: `local` (processes on the daemon's machine, the default) or `swarm` (Docker Swarm services on the cluster the daemon's BERTH_DOCKER_HOST manages).");

export const environment = z
  .strictObject({
    branch: z.string().optional().describe("Git branch this environment deploys (pushes to it deploy automatically)."),
    autoDeploy: z.boolean().optional().describe("Deploy on every push to the branch (default true)."),
    approval: z
      .union([z.enum(["required", "none"]), z.boolean()])
      .optional()
      .describe("`required` (or true): a deploy waits for `berth deploy approve` (default none)."),
    engine: engineField.optional().describe("Where this environment's services run (default: the blueprint's `engine`, else local)."),
    services: overrides.optional().describe("Per-service overrides of any service field, merged over the base definition; `null` removes a field."),
    databases: overrides.optional().describe("Per-database overrides."),
    keyValues: overrides.optional().describe("Per-key-value overrides."),
    envGroups: z.record(z.string(), envMap).optional().describe("Per-group variable overrides."),
  })
  .describe("An environment: a running copy of the project with its own data, secrets and domains.");

const scrub = z
  .strictObject({
    database: z.string().optional().describe("Database the step runs against (default: the first database)."),
    sql: z.string().min(1).optional().describe("SQL run in one transaction on the preview's copy (e.g. `UPDATE users SET email = id || '@example.invalid'`)."),
    command: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe("Program and arguments (an argv array, no shell), run in the checkout with DATABASE_URL set to the preview's copy."),
    timeout: z.string().optional().describe("Give up after this long (default 5m)."),
  })
  .describe("Scrub step for `fork` data: exactly one of `sql` or `command`; it must succeed before the preview gets any traffic.");

const previewData = z
  .strictObject({
    mode: z.enum(["empty", "seed", "fork"]).optional().describe("empty (default): new empty databases; seed: services' `initialDeploy` runs once; fork: a point-in-time copy of the parent environment's databases, scrubbed."),
    from: z.string().optional().describe("Parent environment a `fork` copies (default: `baseEnvironment`)."),
    scrub: scrub.optional(),
  })
  .describe("What the preview's databases start with.");

export const previews = z
  .strictObject({
    mode: z.enum(["off", "manual", "automatic"]).optional().describe("off (default), manual (`berth preview create`), automatic (one per pull request)."),
    expireAfterDays: z.number().int().min(1).optional().describe("Delete a preview after this many days without a push."),
    baseEnvironment: z.string().optional().describe("Environment whose overrides previews start from (default: none, the base blueprint)."),
    maxPreviews: z.number().int().min(1).max(100).optional().describe("Previews a project may run at once (default 5); a pull request over the cap gets a failed commit status and a `preview:refused` event."),
    branches: z
      .array(z.string().min(1))
      .optional()
      .describe("Branches (globs: `feature/*`) whose pushes to Berth's own git server open a preview (numbered by Berth); none by default."),
    data: previewData.optional(),
    sleepAfter: z
      .union([duration("Idle time after which a preview's web and static services sleep (default 30m)."), z.literal(false)])
      .optional()
      .describe("Idle time after which a preview's web and static services sleep until their next request (default 30m; `false`: never). A service's own `sleepAfter` wins."),
    envGroups: z.array(z.string()).optional().describe("Env groups whose secret values previews receive as set for the base environment; other secrets are empty in previews unless they name a `previewValue`."),
  })
  .describe("Preview environments for pull requests.");

export const blueprintSchema = z
  .strictObject({
    $schema: z.string().optional().describe("JSON Schema URL for editors; ignored by Berth."),
    version: z.literal(1).describe("Blueprint format version. Always 1."),
    project: name("Project name."),
    engine: engineField.optional(),
    services: z.record(nameKey, service).optional().describe("Services by name."),
    databases: z.record(nameKey, database).optional().describe("PostgreSQL databases by name."),
    keyValues: z.record(nameKey, keyValue).optional().describe("Redis key-value stores by name."),
    envGroups: z.record(nameKey, envMap).optional().describe("Named sets of variables shared by services (`envGroups: [name]`)."),
    environments: z.record(nameKey, environment).optional().describe("Environments by name (default: one named production, following main)."),
    previews: previews.optional(),
    alerts: alerts.optional(),
    logDrains: logDrains.optional(),
  })
  .describe("A Berth blueprint (berth.yaml).");

export type RawBlueprint = z.infer<typeof blueprintSchema>;
export type RawService = z.infer<typeof service>;
