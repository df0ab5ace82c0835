/**
 * `alerts:` normalized (issue 18): channel credentials become secret references, each checked
 * against the env groups it names — the group exists, declares the variable, and declares it
 * `{ secret: true }` (so the value lives only in the secret store). Messages name the field and
 * the variable, never a value. `alertSecretRefs` lists the references for the sync's check that
 * their values are set (src/reconcile/alert-secrets.ts).
 */
import { formatPath, type Path, type Reporter, suggest } from "./diagnostics.ts";
import type { RawBlueprint } from "./schema/root.ts";
import type { AlertChannel, AlertsConfig, SecretRef } from "./types.ts";

type RawAlerts = NonNullable<RawBlueprint["alerts"]>;
type RawChannel = NonNullable<RawAlerts["channels"]>[string];
type RawRef = { readonly fromGroup: string | { readonly name: string; readonly key: string } };

/** The variable name a hint suggests for a channel's credential: `pager` + `routingKey` -> PAGER_ROUTING_KEY. */
export function suggestedSecretName(channel: string, field: string): string {
  const words = `${channel}_${field}`.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/[^A-Za-z0-9]+/g, "_");
  return words.replace(/^_+|_+$/g, "").toUpperCase() || "ALERT_SECRET";
}

/**
 * The env group and variable a hint suggests for the credential at `path`: alert channels use
 * group `alerting` and `<channel>_<field>`; log drains group `logging` and `DRAIN_<header>` (or
 * `DRAIN_URL`), numbered from the second drain (`DRAIN2_URL`) so two drains do not collide.
 */
export function suggestedSecret(path: Path): { readonly group: string; readonly key: string } {
  if (path[0] === "logDrains") {
    const n = typeof path[1] === "number" && path[1] > 0 ? String(path[1] + 1) : "";
    return { group: "logging", key: suggestedSecretName(`DRAIN${n}`, String(path.at(-1))) };
  }
  return { group: "alerting", key: suggestedSecretName(String(path[2] ?? "alert"), String(path.at(-1))) };
}

/** The YAML and the command that keep a credential in the secret store, for hints. */
export function secretStoreHowTo(field: string, group: string, key: string): string {
  return `Declare it in an env group (\`envGroups: { ${group}: { ${key}: { secret: true } } }\`), write \`${field}: { fromGroup: ${group}.${key} }\`, and store the value with \`berth secret set --group ${group} ${key}=-\` (reads it from stdin; add --env NAME, or --env '*' for every environment).`;
}

export function normalizeAlerts(raw: RawBlueprint, out: Reporter): AlertsConfig | undefined {
  const alerts = raw.alerts;
  if (!alerts) return undefined;
  const groups = (raw.envGroups ?? {}) as Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  const ref = (value: RawRef, path: Path): SecretRef => secretReference(value, path, groups, out);
  const channels: Record<string, AlertChannel> = {};
  for (const [name, c] of Object.entries(alerts.channels ?? {})) channels[name] = normalizeChannel(c, ["alerts", "channels", name], ref);
  const { channels: _raw, ...rest } = alerts;
  return { ...rest, ...(alerts.channels ? { channels } : {}) };
}

function normalizeChannel(c: RawChannel, path: Path, ref: (value: RawRef, path: Path) => SecretRef): AlertChannel {
  switch (c.type) {
    case "webhook":
      return { type: "webhook", url: typeof c.url === "string" ? c.url : ref(c.url, [...path, "url"]), ...(c.secret ? { secret: ref(c.secret, [...path, "secret"]) } : {}) };
    case "slack":
    case "discord":
      return { type: c.type, url: ref(c.url, [...path, "url"]) };
    case "pagerduty":
      return { type: "pagerduty", routingKey: ref(c.routingKey, [...path, "routingKey"]), ...(c.url ? { url: c.url } : {}) };
    case "email": {
      const { password, ...smtp } = c.smtp;
      return { ...c, smtp: { ...smtp, ...(password ? { password: ref(password, [...path, "smtp", "password"]) } : {}) } };
    }
  }
}

/** Resolves one `{ fromGroup }` against the blueprint's env groups; reports what is wrong. Shared with log drains (drains.ts). */
export function secretReference(value: RawRef, path: Path, groups: Readonly<Record<string, Readonly<Record<string, unknown>>>>, out: Reporter): SecretRef {
  const field = formatPath(path);
  const at = [...path, "fromGroup"];
  const v = value.fromGroup;
  const dot = typeof v === "string" ? v.indexOf(".") : -1;
  const name = typeof v === "string" ? (dot < 0 ? v : v.slice(0, dot)) : v.name;
  const key = typeof v === "string" ? (dot < 0 ? "" : v.slice(dot + 1)) : v.key;
  const suggested = suggestedSecret(path);
  const found: SecretRef = { kind: "fromGroup", name, key };
  if (!key) {
    // Not echoed: a value pasted here by mistake would be the credential itself.
    out.error("BERTH_BLUEPRINT_BAD_VALUE", { field: formatPath(at), detail: "names no variable", suggestion: `Write \`group.KEY\`, e.g. \`{ fromGroup: ${suggested.group}.${suggested.key} }\`.` }, at);
    return found;
  }
  const group = groups[name];
  if (!group) {
    const near = suggest(name, Object.keys(groups), "Defined groups");
    out.error("BERTH_BLUEPRINT_UNKNOWN_REFERENCE", { field, kind: "env group", name, suggestion: `${near.startsWith("Did") ? `${near} ` : ""}${secretStoreHowTo(String(path.at(-1)), name, key)}` }, at);
    return found;
  }
  const declared = group[key];
  if (declared === undefined) {
    out.error("BERTH_BLUEPRINT_UNKNOWN_REFERENCE", { field, kind: `variable of group '${name}'`, name: key, suggestion: `Declare it under envGroups.${name}: \`${key}: { secret: true }\`. ${suggest(key, Object.keys(group), "Its variables")}` }, at);
    return found;
  }
  if (!(declared !== null && typeof declared === "object" && (declared as { secret?: unknown }).secret === true)) {
    out.error(
      "BERTH_BLUEPRINT_LITERAL_SECRET",
      { field, detail: `it reads env group variable ${name}.${key}, whose value is written in berth.yaml; a credential must be a \`{ secret: true }\` variable`, suggestion: `Declare it \`${key}: { secret: true }\` under envGroups.${name} and store the value with \`berth secret set --group ${name} ${key}=-\` (reads it from stdin).` },
      ["envGroups", name, key],
    );
  }
  return found;
}

/** Every secret reference of the alert channels, with the field it fills (`alerts.channels.pager.routingKey`). */
export function alertSecretRefs(alerts: AlertsConfig | undefined): { readonly path: Path; readonly field: string; readonly ref: SecretRef }[] {
  const refs: { path: Path; field: string; ref: SecretRef }[] = [];
  const add = (path: Path, r: string | SecretRef | undefined) => {
    if (r !== undefined && typeof r !== "string") refs.push({ path, field: formatPath(path), ref: r });
  };
  for (const [name, c] of Object.entries(alerts?.channels ?? {})) {
    const path = ["alerts", "channels", name];
    if (c.type === "webhook") {
      add([...path, "url"], c.url);
      add([...path, "secret"], c.secret);
    } else if (c.type === "slack" || c.type === "discord") add([...path, "url"], c.url);
    else if (c.type === "pagerduty") add([...path, "routingKey"], c.routingKey);
    else add([...path, "smtp", "password"], c.smtp.password);
  }
  return refs;
}
