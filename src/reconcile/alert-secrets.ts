/**
 * Issue 18, at sync: every alert channel and log drain credential the blueprint references
 * (`{ fromGroup: group.KEY }`) must have a value in the secret store for the environment, or for
 * `*` — a channel that cannot send is found now, not during the incident it was meant to report,
 * and a drain that cannot send is found before its buffer starts dropping lines. A
 * missing one refuses the sync (nothing recorded) naming the field, the variable and the command
 * that sets it. A project's first sync cannot have secrets yet (the store keeps them per
 * project), so there the same words come back as warnings and the sync is recorded.
 * Names only: values are never read here.
 */
import { alertSecretRefs, drainSecretRefs } from "../blueprint/index.ts";
import type { Diagnostic } from "../blueprint/diagnostics.ts";
import { parseLocated } from "../blueprint/source.ts";
import type { Blueprint } from "../blueprint/types.ts";
import { BerthError } from "../core/errors.ts";

/** The key `stored` holds for one value: `group:<name>/<KEY>`. */
export const storedKey = (owner: string, name: string): string => `${owner}/${name}`;

/**
 * `stored`: the keys of the values set for the environment or `*`; undefined when the project
 * does not exist yet. Returns warnings (first sync), or throws BERTH_ALERT_SECRET_MISSING.
 */
export function checkAlertSecrets(bp: Blueprint, stored: ReadonlySet<string> | undefined, request: { readonly environment: string; readonly file: string; readonly blueprintText: string }): Diagnostic[] {
  const missing = [...alertSecretRefs(bp.alerts), ...drainSecretRefs(bp.logDrains)].filter((r) => !stored?.has(storedKey(`group:${r.ref.name}`, r.ref.key)));
  if (missing.length === 0) return [];
  const params = (r: (typeof missing)[number], more: string, after: string) => ({ field: r.field, name: r.ref.key, group: r.ref.name, environment: request.environment, more, after });
  if (stored) {
    const more = missing.length > 1 ? ` (and ${missing.length - 1} more, listed in details)` : "";
    throw new BerthError("BERTH_ALERT_SECRET_MISSING", params(missing[0]!, more, "Nothing was recorded: run `berth up` (or deploy) again once it is set."), {
      details: missing.map((r) => ({ field: r.field, group: r.ref.name, name: r.ref.key, environment: request.environment })),
    });
  }
  const located = parseLocated(request.blueprintText);
  return missing.map((r) => {
    const e = new BerthError("BERTH_ALERT_SECRET_MISSING", params(r, "", "The project is new, so this sync is recorded; the channel or drain sends nothing until the value is set."));
    return { code: e.code, message: e.message, hint: e.hint, file: request.file, ...located.locate(r.path), path: [...r.path] };
  });
}
