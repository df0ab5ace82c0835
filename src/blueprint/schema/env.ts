/**
 * Environment variable values as written in the blueprint. A scalar is a literal (or a `${...}`
 * template); an object names exactly one source. One strict object with every source key (rather
 * than a union of objects) keeps errors precise: a misspelled key gets "did you mean".
 */
import { z } from "zod";
import { envKey } from "./fields.ts";

const ref = (what: string, props: string) =>
  z
    .union([
      z.string().describe(`\`name.property\`, e.g. \`${what === "service" ? "api.host" : "db.connectionString"}\``),
      z.strictObject({
        name: z.string().describe(`Name of the ${what}.`),
        property: z.string().optional().describe(`One of: ${props}.`),
        ...(what === "service" ? { envVarKey: z.string().optional().describe("Read this environment variable of the service instead of a property.") } : {}),
      }),
    ])
    .describe(`A property of a ${what}: \`name.property\` or \`{ name, property }\`. Properties: ${props}.`);

export const DATABASE_PROPERTIES = ["connectionString", "pooledConnectionString", "host", "port", "hostport", "user", "password", "database"] as const;
export const KEYVALUE_PROPERTIES = ["url", "connectionString", "host", "port", "hostport", "password"] as const;
export const SERVICE_PROPERTIES = ["host", "port", "hostport", "url", "publicUrl", "publicHost"] as const;

export const envSourceObject = z
  .strictObject({
    value: z.union([z.string(), z.number(), z.boolean()]).optional().describe("A literal value (same as writing the value directly)."),
    generate: z
      .union([z.literal(true), z.enum(["secret", "hex", "base64", "uuid"])])
      .optional()
      .describe("Generate a random value once per environment and keep it: `secret` (base64url, 32 bytes), `hex`, `base64`, `uuid`."),
    length: z.number().int().min(8).max(512).optional().describe("Bytes of randomness for `generate` (default 32)."),
    secret: z.literal(true).optional().describe("A secret set later with `berth secret set KEY` (never in the file)."),
    description: z.string().optional().describe("What the variable is for; shown by `berth secret list`."),
    previewValue: z.union([z.string(), z.number(), z.boolean()]).optional().describe("The value preview environments get instead (previews never receive secrets or base values otherwise)."),
    fromDatabase: ref("database", DATABASE_PROPERTIES.join(", ")).optional(),
    fromKeyValue: ref("key-value store", KEYVALUE_PROPERTIES.join(", ")).optional(),
    fromService: ref("service", SERVICE_PROPERTIES.join(", ")).optional(),
    fromGroup: z
      .union([z.string(), z.strictObject({ name: z.string().describe("Name of the env group."), key: z.string().optional().describe("Variable in the group (default: this variable's name).") })])
      .optional()
      .describe("A variable of an env group: `group.KEY`, or `{ name, key }` (key defaults to this variable's name)."),
  })
  .describe("A variable source. Exactly one of value, generate, secret, fromDatabase, fromKeyValue, fromService, fromGroup.");

export const envValue = z
  .union([z.string(), z.number(), z.boolean(), envSourceObject])
  // biome-ignore lint/suspicious/noTemplateCurlyInString: blueprint interpolation syntax, not a JS template
  .describe("A literal (strings may use `${VAR}` and `${name.property}` interpolation) or a source object.");

export const envMap = z.record(envKey, envValue).describe("Environment variables, by name.");
