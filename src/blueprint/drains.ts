/**
 * `logDrains:` normalized (issue 18): header values and token-bearing URLs become secret
 * references, checked like alert channel credentials (alerts.ts `secretReference`). A literal URL
 * that carries a credential (a password in it, or a query parameter named like a key or token) is
 * refused as well: the schema cannot tell such a URL from a plain endpoint. `drainSecretRefs`
 * lists the references for the sync's check that their values are set.
 */
import { secretReference, secretStoreHowTo, suggestedSecret } from "./alerts.ts";
import { formatPath, type Path, type Reporter } from "./diagnostics.ts";
import type { RawBlueprint } from "./schema/root.ts";
import type { LogDrainConfig, SecretRef } from "./types.ts";

type RawRef = Parameters<typeof secretReference>[0];

/** Words of a query parameter's name that make its value a credential (`?api_key=`, `?accessToken=`, `?sig=`). */
const CREDENTIAL_WORDS = new Set(["key", "apikey", "token", "secret", "password", "passwd", "pwd", "auth", "sig", "signature", "credential", "credentials"]);
const isCredentialParam = (name: string): boolean =>
  name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .some((w) => CREDENTIAL_WORDS.has(w));

/** Why a literal drain URL may not stay in berth.yaml; undefined when it carries no credential. */
export function urlCredential(value: string): string | undefined {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return undefined; // the schema reports a malformed URL
  }
  if (u.password || u.username) return "the URL carries a login (user:password@)";
  const param = [...u.searchParams.keys()].find(isCredentialParam);
  return param ? `the URL carries a credential in its query parameter '${param}'` : undefined;
}

export function normalizeDrains(raw: RawBlueprint, out: Reporter): LogDrainConfig[] | undefined {
  if (!raw.logDrains) return undefined;
  const groups = (raw.envGroups ?? {}) as Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  const ref = (value: RawRef, path: Path): SecretRef => secretReference(value, path, groups, out);
  return raw.logDrains.map((d, i): LogDrainConfig => {
    if (d.type === "syslog") return d;
    const path: Path = ["logDrains", i];
    let url: string | SecretRef;
    if (typeof d.url === "string") {
      url = d.url;
      const why = urlCredential(d.url);
      if (why) {
        const s = suggestedSecret([...path, "url"]);
        // The value is not repeated: it holds the credential.
        out.error("BERTH_BLUEPRINT_LITERAL_SECRET", { field: formatPath([...path, "url"]), detail: `${why}, which may not be written in berth.yaml; the URL comes from the secret store`, suggestion: secretStoreHowTo("url", s.group, s.key) }, [...path, "url"]);
      }
    } else url = ref(d.url, [...path, "url"]);
    const headers = d.headers ? Object.fromEntries(Object.entries(d.headers).map(([name, v]) => [name, ref(v, [...path, "headers", name])])) : undefined;
    return { type: d.type, url, ...(headers ? { headers } : {}) };
  });
}

/** Every secret reference of the log drains, with the field it fills (`logDrains[0].headers.Authorization`). */
export function drainSecretRefs(drains: readonly LogDrainConfig[] | undefined): { readonly path: Path; readonly field: string; readonly ref: SecretRef }[] {
  const refs: { path: Path; field: string; ref: SecretRef }[] = [];
  for (const [i, d] of (drains ?? []).entries()) {
    if (d.type === "syslog") continue;
    const add = (path: Path, r: string | SecretRef) => {
      if (typeof r !== "string") refs.push({ path, field: formatPath(path), ref: r });
    };
    add(["logDrains", i, "url"], d.url);
    for (const [name, v] of Object.entries(d.headers ?? {})) add(["logDrains", i, "headers", name], v);
  }
  return refs;
}
