/**
 * `berth metrics <service> --since 1h`: requests, error rate, p50/p95/p99, CPU, memory and
 * restarts of a service, with a sparkline per series; `--json` prints what the API returned.
 * `berth alerts`: firing and recent alerts.
 */
import type { Command } from "commander";
import { BerthError } from "../../core/errors.ts";
import { parseDurationMs } from "../../core/units.ts";
import type { MetricsSeries, MetricsSummary } from "../../observe/metrics/query.ts";
import type { CliContext } from "../context.ts";
import { outFor, paint } from "../output.ts";
import { projectOf } from "../target.ts";
import { type Target, withTarget } from "./releases.ts";

const BARS = "▁▂▃▄▅▆▇█";

/** One character per value, scaled between the series' min and max; gaps (null) are spaces. */
export function sparkline(values: readonly (number | null)[]): string {
  const nums = values.filter((v): v is number => v !== null);
  if (nums.length === 0) return "";
  const min = Math.min(...nums);
  const max = Math.max(...nums);
  return values.map((v) => (v === null ? " " : BARS[max === min ? (max === 0 ? 0 : 3) : Math.round(((v - min) / (max - min)) * (BARS.length - 1))])).join("");
}

const ms = (n: number): string => (n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${Math.round(n)} ms`);
const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(0)} MB`;

/** The text `berth metrics` prints. */
export function formatMetrics(service: string, since: string, s: MetricsSummary, series: MetricsSeries): string {
  const rows: [string, string, string][] = [
    ["requests", `${s.requests}`, sparkline(series.requests)],
    ["error rate", `${(s.errorRate * 100).toFixed(2)} %  (${s.statusClasses["5xx"] ?? 0} 5xx)`, sparkline(series.errorRate)],
    ["latency", `p50 ${ms(s.latencyMs.p50)}  p95 ${ms(s.latencyMs.p95)}  p99 ${ms(s.latencyMs.p99)}`, sparkline(series.p95)],
    ["cpu", s.cpuPercent ? `avg ${s.cpuPercent.avg.toFixed(1)} %  max ${s.cpuPercent.max.toFixed(1)} %` : "-", sparkline(series.cpuPercent)],
    ["memory", s.memoryBytes ? `avg ${mb(s.memoryBytes.avg)}  max ${mb(s.memoryBytes.max)}` : "-", sparkline(series.memoryBytes)],
    ["instances", s.instances === null ? "-" : String(s.instances), sparkline(series.instances)],
    ["restarts", `${s.restarts}${s.oomKills ? `  (${s.oomKills} OOM)` : ""}`, ""],
  ];
  const w = Math.max(...rows.map((r) => r[1].length));
  return [`${service}, last ${since} (one point per ${series.stepS} s)`, ...rows.map(([k, v, sp]) => `  ${k.padEnd(11)} ${v.padEnd(w)}  ${sp}`.trimEnd())].join("\n");
}

interface AlertView {
  id: string;
  rule: string;
  severity: string;
  state: string;
  project: string;
  environment: string;
  service: string;
  summary: string;
  startedAt: string;
  firedAt: string | null;
  resolvedAt: string | null;
}

export function registerMetricsCommands(program: Command, ctx: CliContext): void {
  withTarget(
    program
      .command("metrics <service>")
      .description("requests, error rate, p50/p95/p99 latency, CPU, memory and restarts of a service, with sparklines")
      .option("--since <duration>", "time range, e.g. 15m, 1h, 7d", "1h")
      .option("--step <duration>", "width of one sparkline point")
      .option("--instance <id>", "one instance only"),
  ).action(async (service: string, opts: Target & { since: string; step?: string; instance?: string }) => {
    if (parseDurationMs(opts.since) === undefined) throw new BerthError("BERTH_USAGE", { detail: `--since: '${opts.since}' is not a duration such as 10m or 2h` });
    const project = projectOf(opts);
    const q = new URLSearchParams({ since: opts.since, ...(opts.step ? { step: opts.step } : {}), ...(opts.instance ? { instance: opts.instance } : {}) });
    const r = await ctx
      .client()
      .request<{ summary: MetricsSummary; series: MetricsSeries }>("GET", `/v1/projects/${encodeURIComponent(project)}/environments/${encodeURIComponent(opts.env)}/services/${encodeURIComponent(service)}/metrics?${q}`);
    process.stdout.write(opts.json ? `${JSON.stringify(r)}\n` : `${formatMetrics(service, opts.since, r.summary, r.series)}\n`);
  });

  program
    .command("alerts")
    .description("firing and recent alerts (crash loops, error rate, latency, failed deploys, cron, backups)")
    .option("--project <name>", "only this project")
    .option("--env <name>", "only this environment")
    .option("--state <state>", "open, firing, pending or resolved")
    .option("-n, --limit <n>", "how many", "50")
    .option("--json", "one JSON object per line")
    .action(async (opts: { project?: string; env?: string; state?: string; limit: string; json?: boolean }) => {
      const out = outFor(opts);
      const q = new URLSearchParams({ limit: opts.limit, ...(opts.project ? { project: opts.project } : {}), ...(opts.env ? { environment: opts.env } : {}), ...(opts.state ? { state: opts.state } : {}) });
      const alerts = await ctx.client().request<AlertView[]>("GET", `/v1/alerts?${q}`);
      if (out.json) {
        for (const a of alerts) process.stdout.write(`${JSON.stringify(a)}\n`);
        return;
      }
      if (alerts.length === 0) {
        process.stdout.write("no alerts\n");
        return;
      }
      for (const a of alerts) {
        const color = a.state === "resolved" ? "green" : a.severity === "critical" ? "red" : "yellow";
        const where = [a.project, a.environment, a.service].filter(Boolean).join("/");
        const when = a.state === "resolved" ? `resolved ${a.resolvedAt}` : a.state === "firing" ? `since ${a.firedAt}` : `pending since ${a.startedAt}`;
        process.stdout.write(`${paint(out, color, a.state.toUpperCase().padEnd(8))} ${a.severity.padEnd(8)} ${a.rule.padEnd(16)} ${where}  ${a.summary}  (${when})\n`);
      }
    });
}
