/** Alerts and log drains (issue 18): where alerts go, which rules apply, where logs are copied. */
import { z } from "zod";
import { duration, secretRef } from "./fields.ts";

const url = (description: string) => z.string().regex(/^https?:\/\//, "an http:// or https:// URL").describe(description);

// Credentials (signing secrets, routing keys, passwords, webhook URLs that embed a token) come
// from the secret store: `secretRef` takes only a reference (docs/design/alert-secrets.md).
const channel = z
  .discriminatedUnion("type", [
    z.strictObject({
      type: z.literal("webhook").describe("A generic HTTPS webhook."),
      url: z.union([url("Endpoint receiving a JSON POST per alert change."), secretRef("Endpoint receiving a JSON POST per alert change, kept in the secret store (a URL that embeds a token).")]).describe("Endpoint receiving a JSON POST per alert change: a URL, or `{ fromGroup: group.KEY }` when the URL embeds a token."),
      secret: secretRef("HMAC-SHA256 key: the body is signed in `X-Berth-Signature: sha256=<hex of HMAC(timestamp + '.' + body)>` with `X-Berth-Timestamp`.").optional(),
    }),
    z.strictObject({ type: z.literal("slack").describe("Slack, through an incoming webhook."), url: secretRef("Slack incoming-webhook URL (the URL is the credential).") }),
    z.strictObject({ type: z.literal("discord").describe("Discord, through a channel webhook."), url: secretRef("Discord webhook URL (the URL is the credential).") }),
    z.strictObject({
      type: z.literal("pagerduty").describe("PagerDuty Events API v2 (trigger and resolve share a dedup key)."),
      routingKey: secretRef("Integration (routing) key of a PagerDuty Events API v2 service."),
      url: url("Events API endpoint (default https://events.pagerduty.com/v2/enqueue).").optional(),
    }),
    z.strictObject({
      type: z.literal("email").describe("Email over SMTP."),
      to: z.array(z.string().email()).min(1).describe("Recipients."),
      from: z.string().email().optional().describe("Sender (default berth@<host>)."),
      smtp: z
        .strictObject({
          host: z.string().min(1).describe("SMTP server host."),
          port: z.number().int().min(1).max(65535).optional().describe("Default 587 (465 with secure)."),
          secure: z.boolean().optional().describe("TLS from the start (port 465); otherwise STARTTLS when offered."),
          user: z.string().optional().describe("SMTP user, when the server wants a login."),
          password: secretRef("SMTP password.").optional(),
        })
        .describe("SMTP server that relays the mail."),
    }),
  ])
  .describe("A place alerts are sent to.");

const severity = z.enum(["critical", "warning", "info"]).describe("critical pages (PagerDuty), warning and info notify.");

const rule = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "lowercase letters, digits and dashes").describe("Rule name; naming a default rule (crash-loop, error-rate, ...) changes it."),
    enabled: z.boolean().optional().describe("false turns a (default) rule off."),
    metric: z.enum(["errorRate", "p95", "p99", "cpu", "memory", "queue", "restarts", "disk"]).optional().describe("The metric a new rule watches (`disk`: the data disk of the host, percent used)."),
    above: z.union([z.number(), z.string()]).optional().describe("Threshold: a percentage for errorRate/cpu/memory/disk (`5%`), a duration for p95/p99 (`2s`), a count for queue and restarts."),
    service: z.string().optional().describe("Only this service (default: every service)."),
    window: duration("Time range the metric is computed over (default 5m).").optional(),
    for: duration("How long the condition must hold before the alert fires (default: the rule's).").optional(),
    severity: severity.optional(),
    channels: z.array(z.string()).optional().describe("Channel names (default: by severity through `route`, else all)."),
  })
  .describe("An alert rule, or a change to a default one.");

export const alerts = z
  .strictObject({
    channels: z.record(z.string(), channel).optional().describe("Channels by name."),
    route: z.record(severity, z.array(z.string())).optional().describe("Channels per severity, e.g. `{ critical: [pager, slack], warning: [slack] }`."),
    defaults: z.boolean().optional().describe("The default rules (crash loop, OOM, health, deploy, error rate, p95, cron, backups, drills); default true."),
    rules: z.array(rule).optional().describe("Rules added to, or changing, the defaults."),
  })
  .describe("Alerts: rules (sensible defaults included) and the channels they reach.");

// Drain headers exist to carry API keys (Logtail, Datadog, Honeycomb's X-Honeycomb-Team, ...):
// every value is a secret reference; a drain URL may be one when it embeds a token.
const drainHeaders = z
  .record(z.string(), secretRef("The header's value."))
  .optional()
  .describe("Extra request headers, e.g. `{ Authorization: { fromGroup: logging.LOGTAIL_AUTHORIZATION } }`: every value comes from the secret store.");
const drainUrl = (description: string) =>
  z.union([url(description), secretRef(`${description} Kept in the secret store (a URL that embeds a token).`)]).describe(`${description} A URL, or \`{ fromGroup: group.KEY }\` when it embeds a token.`);

export const logDrain = z
  .discriminatedUnion("type", [
    z.strictObject({
      type: z.literal("http").describe("HTTP POSTs of NDJSON."),
      url: drainUrl("Receives POSTs of newline-delimited JSON, one object per log line."),
      headers: drainHeaders,
    }),
    z.strictObject({
      type: z.literal("syslog").describe("RFC 5424 syslog."),
      url: z.string().regex(/^(tcp|tls):\/\/[^/]+:\d+$/, "tcp://host:port or tls://host:port").describe("RFC 5424 syslog over TCP or TLS (octet-counted framing)."),
    }),
    z.strictObject({
      type: z.literal("otlp").describe("OpenTelemetry logs over HTTP."),
      url: drainUrl("OTLP/HTTP logs endpoint (…/v1/logs), JSON encoding."),
      headers: drainHeaders,
    }),
  ])
  .describe("A copy of every service's logs, sent elsewhere.");

export const logDrains = z.array(logDrain).describe("Log drains: copies of the environment's logs, buffered and retried.");

