/**
 * `berth logs <service>`: what the service printed, build output included. Instance and
 * pre-deploy output come from the engine's logs (`.../logs`); build output lives in the event log
 * (`deploy:build:log`), so the CLI reads both and merges them by time. Default: the latest build,
 * then the instances; `--build`: only the latest build and its pre-deploy commands.
 */
import type { Command } from "commander";
import { BerthError } from "../../core/errors.ts";
import type { BerthEvent } from "../../core/events.ts";
import { parseDurationMs } from "../../core/units.ts";
import type { ApiClient } from "../client.ts";
import type { CliContext } from "../context.ts";
import { projectOf } from "../target.ts";
import { type Target, withTarget } from "./releases.ts";

interface Line {
  at: string;
  instance: string;
  stream?: string;
  line: string;
  /** Parsed fields of a structured (JSON) line. */
  fields?: Record<string, unknown>;
}
type LogsOpts = Target & { follow?: boolean; since?: string; grep?: string; build?: boolean; instance?: string };

const BUILD_TYPES = "deploy:build:started,deploy:build:log,deploy:task:log";

/** Build (and, with `tasks`, pre-deploy) lines of the service's latest build, or all since `sinceAt`. */
export function buildLines(events: readonly BerthEvent[], service: string, opts: { tasks: boolean; sinceAt?: string; grep?: string }): Line[] {
  const mine = events.filter((e) => e.scope.service === service);
  const from = opts.sinceAt === undefined ? mine.findLastIndex((e) => e.type === "deploy:build:started") : 0;
  return mine
    .slice(Math.max(0, from))
    .filter((e) => e.type === "deploy:build:log" || (opts.tasks && e.type === "deploy:task:log"))
    .filter((e) => opts.sinceAt === undefined || e.at >= opts.sinceAt)
    .map((e) => {
      const d = e.data as { line?: string; stream?: string; run?: string };
      return { at: e.at, instance: e.type === "deploy:build:log" ? "build" : (d.run ?? "task"), ...(d.stream ? { stream: d.stream } : {}), line: d.line ?? "" };
    })
    .filter((l) => !opts.grep || l.line.includes(opts.grep));
}

async function instanceLines(client: ApiClient, path: string): Promise<Line[]> {
  const out: Line[] = [];
  for await (const raw of client.lines(path)) {
    const l = JSON.parse(raw) as Partial<Line> & { error?: string };
    if (l.error) throw new BerthError("BERTH_INTERNAL", { detail: `logs: ${l.error}` });
    out.push({ at: l.at ?? "", instance: l.instance ?? "", ...(l.stream ? { stream: l.stream } : {}), line: l.line ?? "", ...(l.fields ? { fields: l.fields } : {}) });
  }
  return out;
}

export function registerLogsCommand(program: Command, ctx: CliContext): void {
  withTarget(
    program
      .command("logs <service>")
      .description("a service's output: its latest build, pre-deploy commands and instances (--build: the build and pre-deploy only)")
      .option("-f, --follow", "keep streaming")
      .option("--build", "only the latest build and its pre-deploy commands")
      .option("--since <duration>", "only lines newer than this, e.g. 10m")
      .option("--grep <text>", "only lines containing this")
      .option("--instance <id>", "only this instance's lines (no build output)"),
  ).action(async (service: string, opts: LogsOpts) => {
    const sinceMs = opts.since === undefined ? undefined : parseDurationMs(opts.since);
    if (opts.since !== undefined && sinceMs === undefined) throw new BerthError("BERTH_USAGE", { detail: `--since: '${opts.since}' is not a duration such as 10m or 2h` });
    const client = ctx.client();
    const project = projectOf(opts);
    const scope = new URLSearchParams({ project, environment: opts.env });
    const path = `/v1/projects/${encodeURIComponent(project)}/environments/${encodeURIComponent(opts.env)}/services/${encodeURIComponent(service)}`;
    const print = (l: Line) => process.stdout.write(opts.json ? `${JSON.stringify(l)}\n` : `${l.at} ${l.instance} ${l.line}\n`);
    const sinceAt = sinceMs === undefined ? undefined : new Date(Date.now() - sinceMs).toISOString();

    // The environment must exist (the logs route says so with a catalogue error; events do not).
    await client.request("GET", `/v1/projects/${encodeURIComponent(project)}/environments/${encodeURIComponent(opts.env)}`);
    const events = await client.request<BerthEvent[]>("GET", `/v1/events?${scope}&type=${BUILD_TYPES}&limit=5000`);
    const build = buildLines(events, service, { tasks: !!opts.build, ...(sinceAt ? { sinceAt } : {}), ...(opts.grep ? { grep: opts.grep } : {}) });
    const q = new URLSearchParams({ follow: String(!!opts.follow), ...(opts.since ? { since: opts.since } : {}), ...(opts.grep ? { grep: opts.grep } : {}), ...(opts.instance ? { instance: opts.instance } : {}) });
    if (opts.instance) build.length = 0; // one instance: its own lines only
    if (!opts.follow) {
      const instances = opts.build ? [] : await instanceLines(client, `${path}/logs?${q}`);
      // Merged by time: a build's lines come before the instances of the release it made.
      for (const l of [...build, ...instances].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))) print(l);
      return;
    }
    // Following: the build so far, then two live streams (new builds; the instances, whose
    // stored lines the daemon sends first).
    build.forEach(print);
    const abort = new AbortController();
    process.once("SIGINT", () => abort.abort());
    const after = events.at(-1)?.seq ?? 0;
    const builds = (async () => {
      for await (const raw of client.lines(`/v1/events/stream?${scope}&type=${BUILD_TYPES}&after=${after}`, abort.signal)) {
        if (!raw.startsWith("data: ")) continue;
        const e = JSON.parse(raw.slice(6)) as BerthEvent;
        for (const l of buildLines([e], service, { tasks: !!opts.build, sinceAt: "", ...(opts.grep ? { grep: opts.grep } : {}) })) print(l);
      }
    })();
    const live = opts.build
      ? Promise.resolve()
      : (async () => {
          for await (const raw of client.lines(`${path}/logs?${q}`, abort.signal)) {
            const l = JSON.parse(raw) as Line & { error?: string };
            if (l.error) process.stderr.write(`error: ${l.error}\n`);
            else print(l);
          }
        })();
    await Promise.all([builds, live]);
  });
}
