/** The JSON Schema of berth.yaml, generated from the zod schema (for editors and `berth schema`). */
import { z } from "zod";
import { blueprintSchema } from "./schema/root.ts";

export const SCHEMA_ID = "https://berth.dev/schema/blueprint-v1.json";

let cached: Record<string, unknown> | undefined;

/** The JSON Schema (draft 2020-12) of the blueprint's input format. */
export function blueprintJsonSchema(): Record<string, unknown> {
  cached ??= { ...z.toJSONSchema(blueprintSchema, { io: "input", unrepresentable: "any" }), $id: SCHEMA_ID, title: "Berth blueprint (berth.yaml)" };
  return cached;
}
