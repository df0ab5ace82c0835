/**
 * A drain's credentials, read from the secret store for one request (issue 18), the way alert
 * channels read theirs (alerts/channels.ts `resolveChannel`): nothing is cached, so a value set
 * or rotated with `berth secret set` is used from the next batch on, and nothing restarts.
 */
import type { LogDrainConfig, SecretRef } from "../../blueprint/types.ts";
import { BerthError } from "../../core/errors.ts";
import type { SecretLookup } from "../alerts/channels.ts";

/** A drain with its credentials read: what a sender uses for one batch. */
export type ResolvedDrain = { readonly type: "http" | "otlp"; readonly url: string; readonly headers: Readonly<Record<string, string>> } | { readonly type: "syslog"; readonly url: string };

/**
 * Reads drain `index`'s credentials in `environment`. Throws BERTH_ALERT_SECRET_MISSING (naming
 * the field, the variable and the command that sets it; never a value) when one has no value.
 */
export function resolveDrain(index: number, drain: LogDrainConfig, environment: string, lookup: SecretLookup): ResolvedDrain {
  if (drain.type === "syslog") return drain;
  const read = (field: string, v: string | SecretRef): string => {
    // A blueprint recorded before drain credentials were references holds literals until its next sync.
    if (typeof v === "string") return v;
    const value = lookup(v.name, v.key);
    if (value === undefined) {
      throw new BerthError("BERTH_ALERT_SECRET_MISSING", { field: `logDrains[${index}].${field}`, name: v.key, group: v.name, environment, more: "", after: "The drain keeps its buffered lines and sends them once it is set." });
    }
    return value;
  };
  const headers = Object.fromEntries(Object.entries(drain.headers ?? {}).map(([name, v]) => [name, read(`headers.${name}`, v as string | SecretRef)]));
  return { type: drain.type, url: read("url", drain.url), headers };
}

/** For drains that hold no references (tests, syslog): literals only. */
export const literalsOnly: SecretLookup = () => undefined;
