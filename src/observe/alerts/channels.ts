/**
 * Alert channels: what each one sends for a firing or resolved alert. Payload builders are pure
 * (tested by shape); `resolveChannel` reads the channel's credentials from the secret store at
 * the moment of sending; `send` does the I/O: HTTP POSTs for webhook, Slack, Discord and
 * PagerDuty Events v2, SMTP (nodemailer) for email. A send throws on failure; the notifier retries.
 */
import { createHmac } from "node:crypto";
import { hostname } from "node:os";
import type { AlertChannel, SecretRef } from "../../blueprint/types.ts";
import { BerthError } from "../../core/errors.ts";
import { post } from "../post.ts";

/** A channel as the blueprint records it: credentials are secret references. */
export type ChannelConfig = AlertChannel;

/** A channel with its credentials read: what `send` uses, held only while sending. */
export type ResolvedChannel =
  | { readonly type: "webhook"; readonly url: string; readonly secret?: string }
  | { readonly type: "slack" | "discord"; readonly url: string }
  | { readonly type: "pagerduty"; readonly routingKey: string; readonly url?: string }
  | {
      readonly type: "email";
      readonly to: readonly string[];
      readonly from?: string;
      readonly smtp: { readonly host: string; readonly port?: number; readonly secure?: boolean; readonly user?: string; readonly password?: string };
    };

/** The value of env group `group`'s variable `key` in the alert's environment (or `*`); undefined when unset. */
export type SecretLookup = (group: string, key: string) => string | undefined;

/**
 * Reads a channel's credentials. Throws BERTH_ALERT_SECRET_MISSING (naming the field, the
 * variable and the command that sets it; never a value) when one has no value.
 */
export function resolveChannel(name: string, channel: ChannelConfig, environment: string, lookup: SecretLookup): ResolvedChannel {
  const read = (field: string, v: string | SecretRef): string => {
    // A blueprint recorded before credentials were references holds a literal until its next sync.
    if (typeof v === "string") return v;
    const value = lookup(v.name, v.key);
    if (value === undefined) {
      throw new BerthError("BERTH_ALERT_SECRET_MISSING", { field: `alerts.channels.${name}.${field}`, name: v.key, group: v.name, environment, more: "", after: "Alerts sent after that use it." });
    }
    return value;
  };
  switch (channel.type) {
    case "webhook":
      return { type: "webhook", url: read("url", channel.url), ...(channel.secret ? { secret: read("secret", channel.secret) } : {}) };
    case "slack":
    case "discord":
      return { type: channel.type, url: read("url", channel.url) };
    case "pagerduty":
      return { type: "pagerduty", routingKey: read("routingKey", channel.routingKey), ...(channel.url ? { url: channel.url } : {}) };
    case "email": {
      const { password, ...smtp } = channel.smtp;
      return { ...channel, smtp: { ...smtp, ...(password ? { password: read("smtp.password", password) } : {}) } };
    }
  }
}

/** An alert as channels see it. */
export interface AlertNotice {
  readonly id: string;
  readonly dedupKey: string;
  readonly rule: string;
  readonly severity: "critical" | "warning" | "info";
  readonly state: "firing" | "resolved";
  readonly summary: string;
  readonly project: string;
  readonly environment: string;
  readonly service: string;
  readonly value: number | null;
  readonly startedAt: string;
  readonly firedAt: string | null;
  readonly resolvedAt: string | null;
}

const title = (a: AlertNotice): string =>
  `[${a.state === "firing" ? a.severity.toUpperCase() : "RESOLVED"}] ${a.project}/${a.environment}${a.service ? `/${a.service}` : ""}: ${a.summary}`;

export const PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue";

/** The generic webhook body and its signature headers (HMAC-SHA256 over `timestamp.body`). */
export function webhookRequest(a: AlertNotice, secret: string | undefined, nowMs: number): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({ version: 1, alert: a });
  const ts = String(Math.floor(nowMs / 1000));
  const headers: Record<string, string> = { "content-type": "application/json", "x-berth-timestamp": ts, "x-berth-event": `alert.${a.state}` };
  if (secret) headers["x-berth-signature"] = `sha256=${createHmac("sha256", secret).update(`${ts}.${body}`).digest("hex")}`;
  return { body, headers };
}

export function slackBody(a: AlertNotice): unknown {
  const color = a.state === "resolved" ? "good" : a.severity === "critical" ? "danger" : "warning";
  return {
    text: title(a),
    attachments: [{ color, fields: [{ title: "Rule", value: a.rule, short: true }, { title: "Since", value: a.firedAt ?? a.startedAt, short: true }] }],
  };
}

export function discordBody(a: AlertNotice): unknown {
  const color = a.state === "resolved" ? 0x2ecc71 : a.severity === "critical" ? 0xe74c3c : 0xf1c40f;
  return { content: title(a), embeds: [{ title: a.rule, description: a.summary, color, timestamp: a.resolvedAt ?? a.firedAt ?? a.startedAt }] };
}

/** PagerDuty Events API v2: trigger and resolve share the dedup key, so they close one incident. */
export function pagerDutyBody(a: AlertNotice, routingKey: string): unknown {
  if (a.state === "resolved") return { routing_key: routingKey, event_action: "resolve", dedup_key: a.dedupKey };
  return {
    routing_key: routingKey,
    event_action: "trigger",
    dedup_key: a.dedupKey,
    payload: {
      summary: title(a).slice(0, 1024),
      source: `${a.project}/${a.environment}${a.service ? `/${a.service}` : ""}`,
      severity: a.severity === "info" ? "info" : a.severity,
      component: a.service || undefined,
      group: `${a.project}/${a.environment}`,
      class: a.rule,
      custom_details: { value: a.value, startedAt: a.startedAt },
    },
  };
}

export function emailMessage(a: AlertNotice): { subject: string; text: string } {
  const lines = [
    title(a),
    "",
    `Rule:        ${a.rule} (${a.severity})`,
    `Service:     ${a.project}/${a.environment}${a.service ? `/${a.service}` : ""}`,
    `Started:     ${a.startedAt}`,
    ...(a.firedAt ? [`Fired:       ${a.firedAt}`] : []),
    ...(a.resolvedAt ? [`Resolved:    ${a.resolvedAt}`] : []),
    ...(a.value !== null ? [`Value:       ${a.value}`] : []),
    "",
    `berth alerts --project ${a.project}`,
  ];
  return { subject: title(a), text: `${lines.join("\n")}\n` };
}

/** Sends one notice through one channel. */
export async function send(channel: ResolvedChannel, a: AlertNotice, signal: AbortSignal, nowMs = Date.now()): Promise<void> {
  const json = { "content-type": "application/json" };
  switch (channel.type) {
    case "webhook": {
      const r = webhookRequest(a, channel.secret, nowMs);
      return post(channel.url, r.body, r.headers, signal, "the channel's URL");
    }
    case "slack":
      return post(channel.url, JSON.stringify(slackBody(a)), json, signal, "the channel's URL");
    case "discord":
      return post(channel.url, JSON.stringify(discordBody(a)), json, signal, "the channel's URL");
    case "pagerduty":
      return post(channel.url ?? PAGERDUTY_URL, JSON.stringify(pagerDutyBody(a, channel.routingKey)), json, signal, "the channel's URL");
    case "email": {
      const { createTransport } = await import("nodemailer");
      const s = channel.smtp;
      const transport = createTransport({
        host: s.host,
        port: s.port ?? (s.secure ? 465 : 587),
        secure: s.secure ?? false,
        ...(s.user ? { auth: { user: s.user, pass: s.password ?? "" } } : {}),
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
      });
      const m = emailMessage(a);
      try {
        await transport.sendMail({ from: channel.from ?? `berth@${hostname()}`, to: channel.to.join(", "), subject: m.subject, text: m.text });
      } finally {
        transport.close();
      }
      return;
    }
  }
}
