/**
 * The one place where errors become HTTP: catalogue errors keep their code and status;
 * schema violations and malformed JSON become BERTH_BAD_REQUEST with the field path.
 */
import type { FastifyError, FastifyInstance } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { BerthError, toBerthError } from "../core/errors.ts";

function fieldPath(instancePath: string): string {
  const p = instancePath.replace(/^\//, "").split("/").filter(Boolean).join(".");
  return p || "(body)";
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    let err: BerthError;
    if (hasZodFastifySchemaValidationErrors(error)) {
      const details = error.validation.map((v) => ({
        field: `${error.validationContext ?? "body"}.${fieldPath(v.instancePath)}`.replace(/\.\(body\)$/, ""),
        message: v.message,
      }));
      const first = details[0];
      err = new BerthError("BERTH_BAD_REQUEST", { detail: first ? `${first.field}: ${first.message}` : "schema violation" }, { details });
    } else if (error instanceof BerthError) {
      err = error;
    } else if (typeof error.statusCode === "number" && error.statusCode >= 400 && error.statusCode < 500) {
      err = new BerthError("BERTH_BAD_REQUEST", { detail: error.message });
    } else {
      err = toBerthError(error);
      request.log.error({ err: error }, "internal error");
    }
    reply.status(err.status).send({ error: { ...err.toJSON(), requestId: request.id } });
  });
  app.setNotFoundHandler((request, reply) => {
    const err = new BerthError("BERTH_NOT_FOUND", { kind: "route", name: `${request.method} ${request.url.split("?")[0]}` });
    reply.status(404).send({ error: { ...err.toJSON(), requestId: request.id } });
  });
}
