/**
 * "Failures show their cause": while `up`/`deploy` wait, the output of each service's build and
 * pre-deploy tasks is kept (the last lines only) from the event log; when a deploy fails, the
 * tail of the step that failed is printed under the failure. A failed health gate or rollout has
 * no step output of its own: its cause is in the new instance's log, read from the service's
 * logs since that deploy started.
 */
import type { BerthEvent } from "../core/events.ts";
import type { ApiClient } from "./client.ts";

/** How many lines of a failing step are shown. */
export const TAIL_LINES = 20;

export interface Tail {
  readonly what: string;
  readonly lines: readonly string[];
  /** True when `berth logs <service> --build` holds the whole output; else plain `berth logs`. */
  readonly build: boolean;
}

const push = (map: Map<string, string[]>, key: string, line: string) => {
  const lines = map.get(key) ?? [];
  lines.push(line);
  if (lines.length > TAIL_LINES) lines.shift();
  map.set(key, lines);
};

export class FailureTails {
  readonly #client: ApiClient;
  readonly #where: { readonly project: string; readonly environment: string };
  readonly #build = new Map<string, string[]>();
  readonly #task = new Map<string, string[]>();
  readonly #deployAt = new Map<string, number>();

  constructor(client: ApiClient, where: { project: string; environment: string }) {
    this.#client = client;
    this.#where = where;
  }

  /** Feeds one event of the environment (in order). */
  observe(e: BerthEvent): void {
    const service = e.scope.service ?? String((e.data as { service?: unknown }).service ?? "");
    const d = e.data as { line?: string };
    switch (e.type) {
      case "deploy:build:started":
        this.#build.delete(service);
        break;
      case "deploy:build:log":
        push(this.#build, service, d.line ?? "");
        break;
      case "deploy:started":
        this.#task.delete(service);
        this.#deployAt.set(service, Date.parse(e.at));
        break;
      case "deploy:task:log":
        push(this.#task, service, d.line ?? "");
        break;
    }
  }

  /**
   * For a `deploy:failed` event: which output it was, its last lines (empty when none), and
   * whether `berth logs --build` (build and tasks) or plain `berth logs` (instances) shows it all.
   */
  async tail(e: BerthEvent): Promise<Tail> {
    const service = e.scope.service ?? String((e.data as { service?: unknown }).service ?? "");
    const step = String((e.data as { step?: unknown }).step ?? "");
    if (step === "build") return { what: "the build", lines: this.#build.get(service) ?? [], build: true };
    if (step === "preDeploy" || step === "initialDeploy") return { what: `the ${step} command`, lines: this.#task.get(service) ?? [], build: true };
    return { what: "the new instance's log", lines: await this.#instanceLines(service, this.#deployAt.get(service)), build: false };
  }

  async #instanceLines(service: string, since: number | undefined): Promise<string[]> {
    // The route takes a whole duration; the exact cut (lines of this deploy only) is made below.
    const seconds = since ? Math.max(1, Math.ceil((Date.now() - since) / 1000) + 2) : 60;
    const from = since ? new Date(since).toISOString() : "";
    const enc = encodeURIComponent;
    const path = `/v1/projects/${enc(this.#where.project)}/environments/${enc(this.#where.environment)}/services/${enc(service)}/logs?since=${seconds}s`;
    const lines: string[] = [];
    try {
      for await (const raw of this.#client.lines(path)) {
        const l = JSON.parse(raw) as { at?: string; line?: string };
        if (l.line !== undefined && (l.at ?? "") >= from) lines.push(l.line);
      }
    } catch {
      // Best effort: the failure itself is already reported.
    }
    return lines.slice(-TAIL_LINES);
  }
}

/** The block printed under a failure: a header, then each line indented. */
export function formatTail(service: string, tail: Tail, logsCommand: string): string {
  if (tail.lines.length === 0) return `${service}: ${tail.what} printed nothing; see \`${logsCommand}\``;
  const body = tail.lines.map((l) => `  | ${l}`).join("\n");
  return `${service}: last ${tail.lines.length} line(s) of ${tail.what}:\n${body}\n${service}: all of it: \`${logsCommand}\``;
}
