/** The whole blueprint: project, services, datastores, env groups, environments, previews. */
import { z } from "zod";
import { envMap } from "./env.ts";
import { name, nameKey } from "./fields.ts";
import { database, keyValue } from "./resources.ts";
import { service } from "./service.ts";
import { alerts, logDrains } from "./observe.ts";

const overrides = z.record(z.string(), z.record(z.string(), z.unknown()));

export const environment = z
  .strictObject({
    branch: z.string().optional().describe("Git branch this environment deploys (pushes to it deploy automatically)."),
    autoDeploy: z.boolean().optional().describe("Deploy on every push to the branch (default true)."),
    approval: z
      .union([z.enum(["required", "none"]), z.boolean()])
      .optional()
      .describe("`required` (or true): a deploy waits for `berth deploy approve` (default none)."),
    services: overrides.optional().describe("Per-service overrides of any service field, merged over the base definition; `null` removes a field."),
    databases: overrides.optional().describe("Per-database overrides."),
    keyValues: overrides.optional().describe("Per-key-value overrides."),
    envGroups: z.record(z.string(), envMap).optional().describe("Per-group variable overrides."),
  })
  .describe("An environment: a running copy of the project with its own data, secrets and domains.");

export const previews = z
  .strictObject({
    mode: z.enum(["off", "manual", "automatic"]).optional().describe("off (default), manual (`berth preview create`), automatic (one per pull request)."),
    expireAfterDays: z.number().int().min(1).optional().describe("Delete a preview after this many days without a push."),
    baseEnvironment: z.string().optional().describe("Environment whose overrides previews start from (default: none, the base blueprint)."),
  })
  .describe("Preview environments for pull requests.");

export const blueprintSchema = z
  .strictObject({
    $schema: z.string().optional().describe("JSON Schema URL for editors; ignored by Berth."),
    version: z.literal(1).describe("Blueprint format version. Always 1."),
    project: name("Project name."),
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
