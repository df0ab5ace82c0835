import { defineErrors } from "./spec.ts";

/**
 * Errors of the blueprint (`berth.yaml`) and its importers. The `BERTH_BLUEPRINT_*` codes below
 * the first four are diagnostic codes: the parser renders them into located `Diagnostic`s rather
 * than throwing, so one bad file reports every problem at once.
 */
export const blueprintErrors = defineErrors({
  BERTH_BLUEPRINT_INVALID: {
    message: "{file}: the blueprint has {count} error(s)",
    hint: "Run `berth validate {file}` to see each error with its line, column and a fix.",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_NOT_FOUND: {
    message: "no blueprint at {path}",
    hint: "Create a berth.yaml (see docs/blueprint.md), or convert one with `berth import render.yaml -o berth.yaml`.",
    http: 404,
    exit: 4,
  },
  BERTH_BLUEPRINT_ENVIRONMENT_UNKNOWN: {
    message: "environment '{name}' is not defined in the blueprint",
    hint: "Defined environments: {known}. Add it under `environments:`.",
    http: 404,
    exit: 4,
  },
  BERTH_BLUEPRINT_IMPORT_UNSUPPORTED: {
    message: "cannot import {file}: {detail}",
    hint: "Importers exist for render.yaml, railway.toml/json, Procfile, app.json and docker-compose.yml.",
    http: 422,
    exit: 2,
  },
  // --- diagnostics (located, reported in lists) ---
  BERTH_BLUEPRINT_YAML: {
    message: "YAML syntax error: {detail}",
    hint: "{suggestion}",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_NOT_A_MAP: {
    message: "the blueprint must be a YAML mapping with `version`, `project` and `services`",
    hint: "Start the file with `version: 1` and `project: <name>`.",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_UNKNOWN_KEY: {
    message: "unknown field '{key}' in {where}",
    hint: "{suggestion}",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_MISSING_FIELD: {
    message: "missing required field '{key}' in {where}",
    hint: "Add `{key}:` to {where}.",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_WRONG_TYPE: {
    message: "{field} must be {expected}, got {received}",
    hint: "{suggestion}",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_BAD_VALUE: {
    message: "{field} is invalid: {detail}",
    hint: "{suggestion}",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_BAD_CHOICE: {
    message: "{field} must be one of {choices}, got '{received}'",
    hint: "{suggestion}",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_BAD_DURATION: {
    message: "{field}: '{received}' is not a duration",
    hint: "Write a number with a unit: 500ms, 30s, 5m, 2h, 7d (a bare number means seconds).",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_BAD_SIZE: {
    message: "{field}: '{received}' is not a size",
    hint: "Write a number with a unit: 512kb, 256mb, 1gb (binary multiples; a bare number means bytes).",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_BAD_PERCENT: {
    message: "{field}: '{received}' is not a percentage",
    hint: "Write a whole percentage between 1 and 100, e.g. 70%.",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_BAD_CRON: {
    message: "{field}: '{received}' is not a valid cron expression ({detail})",
    hint: "Use five fields `minute hour day month weekday`, e.g. `*/15 * * * *`, or @hourly / @daily.",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_BAD_TIMEZONE: {
    message: "{field}: '{received}' is not an IANA time zone",
    hint: "Use a name such as UTC, Europe/Zurich or America/New_York.",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_BAD_NAME: {
    message: "{kind} name '{name}' is invalid",
    hint: "Use lowercase letters, digits and dashes, starting with a letter (at most 40 characters), e.g. '{suggestion}'.",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_UNSUPPORTED_VERSION: {
    message: "blueprint version {received} is not supported",
    hint: "This Berth reads `version: 1`.",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_UNKNOWN_REFERENCE: {
    message: "{field} refers to {kind} '{name}', which is not defined",
    hint: "{suggestion}",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_UNKNOWN_PROPERTY: {
    message: "{field}: {kind} '{name}' has no property '{property}'",
    hint: "{suggestion}",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_INTERPOLATION_CYCLE: {
    message: "{field}: variables refer to each other in a cycle: {cycle}",
    hint: "Break the cycle: give one of these variables a literal value or another source.",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_BAD_INTERPOLATION: {
    message: "{field}: bad interpolation '{received}': {detail}",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: blueprint interpolation syntax, not a JS template
    hint: "Write ${VAR} for a variable of this service, or ${name.property} for a service, database or key-value; escape a literal $ as $$.",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_SINGLETON_REPLICAS: {
    message: "service '{service}' is a singleton but asks for {replicas} replicas",
    hint: "A singleton always runs exactly one instance: remove `replicas`/`scaling`, or remove `singleton: true`.",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_REPLICAS_AND_SCALING: {
    message: "service '{service}' sets both `replicas` and `scaling`",
    hint: "Use `replicas: N` for a fixed count, or `scaling: {min, max, ...}` for autoscaling, not both.",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_SCALING_RANGE: {
    message: "service '{service}': scaling.min ({min}) is greater than scaling.max ({max})",
    hint: "Make min <= max.",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_SCALING_TARGET: {
    message: "service '{service}': scaling needs a target (cpu, memory or queue)",
    hint: "Add e.g. `cpu: 70%` under scaling, or use a fixed `replicas:` count.",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_CRON_SCHEDULE_MISSING: {
    message: "cron service '{service}' has no schedule",
    hint: "Add `schedule: \"*/15 * * * *\"` (or @hourly, @daily) to the service.",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_CRON_COMMAND_MISSING: {
    message: "cron service '{service}' has no command",
    hint: "Add `command: <what to run>` to the service.",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_DUPLICATE_DOMAIN: {
    message: "domain '{domain}' is used by both '{first}' and '{second}'",
    hint: "A domain (with its path) routes to one service; remove it from one of them or give each a different path route.",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_DUPLICATE_MOUNT: {
    message: "service '{service}' mounts two disks at {mountPath}",
    hint: "Give each disk its own mountPath.",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_DUPLICATE_NAME: {
    message: "the name '{name}' is used by both a {first} and a {second}",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: blueprint interpolation syntax, not a JS template
    hint: "References like ${name.host} must be unambiguous: rename one of them.",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_DISK_AUTOSCALING: {
    message: "service '{service}' has a disk, so it cannot {what}",
    hint: "A disk attaches to one instance: use `replicas: 1` without `scaling`, or move the data to a database.",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_FIELD_NOT_FOR_TYPE: {
    message: "'{key}' does not apply to a {type} service",
    hint: "{suggestion}",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_ACCESS_DENIED: {
    message: "{field}: service '{service}' may not reach {kind} '{name}' (allowFrom: {allowed})",
    hint: "Add '{service}' to `allowFrom` of {kind} '{name}', or remove the reference.",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_LITERAL_SECRET: {
    message: "{field}: {detail}",
    hint: "{suggestion}",
    http: 422,
    exit: 2,
  },
  // --- warnings ---
  BERTH_BLUEPRINT_DEPRECATED_ALIAS: {
    message: "'{alias}' is a deprecated name for '{name}'",
    hint: "Rename `{alias}` to `{name}`; the old name still works for now.",
    http: 200,
    exit: 0,
  },
  BERTH_BLUEPRINT_NO_START: {
    message: "service '{service}' has no start command",
    hint: "Berth will detect one from the build (package.json `start`, Procfile); set `start:` to be explicit.",
    http: 200,
    exit: 0,
  },
  BERTH_BLUEPRINT_IMPORT_APPROXIMATE: {
    message: "{field}: {detail}",
    hint: "{suggestion}",
    http: 200,
    exit: 0,
  },
});
