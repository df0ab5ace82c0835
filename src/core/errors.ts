/**
 * The one error catalogue. Every error Berth reports has a stable code, a message template,
 * a hint, an HTTP status and a CLI exit code. Domain code throws `BerthError`; the API and the
 * CLI map it to their transport in one place each. Area files in `errors/` keep the list
 * reviewable and let subsystems add codes without touching each other's lines.
 */
import type { ErrorSpec } from "./errors/spec.ts";
import { spineErrors } from "./errors/spine.ts";
import { buildErrors } from "./errors/build.ts";
import { routerErrors } from "./errors/router.ts";
import { cronErrors } from "./errors/cron.ts";
import { dataErrors } from "./errors/data.ts";
import { dataCliErrors } from "./errors/data-cli.ts";
import { secretsErrors } from "./errors/secrets.ts";
import { engineErrors } from "./errors/engine.ts";
import { blueprintErrors } from "./errors/blueprint.ts";
import { gitErrors } from "./errors/git.ts";
import { operationErrors } from "./errors/operations.ts";
import { controlErrors } from "./errors/control.ts";
import { cliErrors } from "./errors/cli.ts";
import { securityErrors } from "./errors/security.ts";
import { environmentErrors } from "./errors/environments.ts";
import { previewErrors } from "./errors/previews.ts";

export type { ErrorSpec } from "./errors/spec.ts";

export const catalogue = {
  ...spineErrors,
  ...buildErrors,
  ...routerErrors,
  ...cronErrors,
  ...dataErrors,
  ...dataCliErrors,
  ...secretsErrors,
  ...engineErrors,
  ...blueprintErrors,
  ...gitErrors,
  ...operationErrors,
  ...controlErrors,
  ...cliErrors,
  ...securityErrors,
  ...environmentErrors,
  ...previewErrors,
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof catalogue;
export type ErrorParams = Readonly<Record<string, string | number | boolean>>;

/** Fills `{name}` placeholders; unknown names are left visible rather than silently dropped. */
export function renderTemplate(template: string, params: ErrorParams): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

/** A catalogued error. `details` carries structured context (field paths, locations). */
export class BerthError extends Error {
  readonly code: ErrorCode;
  readonly params: ErrorParams;
  readonly hint: string;
  readonly status: number;
  readonly exitCode: number;
  readonly details: readonly unknown[] | undefined;

  constructor(code: ErrorCode, params: ErrorParams = {}, options: { details?: readonly unknown[]; cause?: unknown } = {}) {
    const spec: ErrorSpec = catalogue[code];
    super(renderTemplate(spec.message, params), { cause: options.cause });
    this.name = "BerthError";
    this.code = code;
    this.params = params;
    this.hint = renderTemplate(spec.hint, params);
    this.status = spec.http;
    this.exitCode = spec.exit;
    this.details = options.details;
  }

  /** The wire shape used by the API and `--json` output. */
  toJSON(): { code: ErrorCode; message: string; hint: string; details?: readonly unknown[] } {
    return { code: this.code, message: this.message, hint: this.hint, ...(this.details ? { details: this.details } : {}) };
  }
}

export function isBerthError(e: unknown): e is BerthError {
  return e instanceof BerthError;
}

/**
 * The catalogue error a recorded one came from (an API error body, an operation row's error):
 * message and hint as the daemon rendered them with params the record does not carry. Undefined
 * for a code this catalogue does not know (an older or newer daemon).
 */
export function reviveError(e: { readonly code: string; readonly message?: string; readonly hint?: string; readonly details?: readonly unknown[] }): BerthError | undefined {
  if (!(e.code in catalogue)) return undefined;
  const err = new BerthError(e.code as ErrorCode, {}, e.details ? { details: e.details } : {});
  if (e.message) Object.defineProperty(err, "message", { value: e.message });
  if (e.hint) Object.defineProperty(err, "hint", { value: e.hint });
  return err;
}

/** Wraps anything thrown into a BerthError so transports have one shape to map. */
export function toBerthError(e: unknown): BerthError {
  if (e instanceof BerthError) return e;
  const detail = e instanceof Error ? e.message : String(e);
  return new BerthError("BERTH_INTERNAL", { detail }, { cause: e });
}
