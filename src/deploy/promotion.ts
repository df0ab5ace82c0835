/**
 * Promotion (issue 19), the pure half: which services of the source environment are promoted,
 * from which of their releases, and from which environment's blueprint the target is recorded.
 * No I/O: the caller reads each source service's live release and hands it in as data.
 */
import type { Artifact } from "../engine/engine.ts";
import type { Refusal } from "./approval.ts";
import type { SourceRef } from "./inputs.ts";

/** A source service as the planner sees it: its live release, if any. */
export interface SourceService {
  readonly name: string;
  readonly live: { readonly release: number; readonly source: SourceRef; readonly artifact: Artifact } | undefined;
}

export interface PromotionInput {
  readonly project: string;
  readonly from: string;
  readonly to: string;
  /** `all`, or the services named on the command line. */
  readonly selection: "all" | readonly string[];
  readonly source: readonly SourceService[];
  /** The target's services as recorded, or undefined when the target was never deployed. */
  readonly target: readonly string[] | undefined;
}

/** One promoted service: the source release it takes its source and artifact from. */
export interface PromotionPin {
  readonly environment: string;
  readonly release: number;
  readonly source: SourceRef;
  readonly artifact: Artifact;
}

export interface PromotionPlan {
  readonly ok: true;
  /**
   * Whose recorded blueprint the target is synced with: the source's for `--all` (the target
   * then runs the same blueprint revision as the artifacts, with its own overrides, env and
   * resources), the target's own when single services are promoted (its other services stay).
   */
  readonly blueprintOf: "source" | "target";
  readonly services: readonly string[];
  readonly pins: Readonly<Record<string, PromotionPin>>;
}

const refuse = (code: Refusal["code"], params: Refusal["params"]): Refusal => ({ ok: false, code, params });

export function planPromotion(input: PromotionInput): PromotionPlan | Refusal {
  const { from, to } = input;
  const env = (name: string) => `${input.project}/${name}`;
  if (from === to) return refuse("BERTH_PROMOTE_INVALID", { from, to, detail: "the source and the target are the same environment", next: "Name two environments: `--from staging --to production`." });
  const byName = new Map(input.source.map((s) => [s.name, s]));
  let names: readonly string[];
  if (input.selection === "all") {
    names = input.source.map((s) => s.name);
    if (names.length === 0) return refuse("BERTH_PROMOTE_NOT_LIVE", { environment: env(from), services: "any service (it runs nothing)" });
  } else {
    names = [...new Set(input.selection)];
    if (names.length === 0) return refuse("BERTH_PROMOTE_INVALID", { from, to, detail: "no service named", next: "Name a service, or promote every one with `--all`." });
    const unknown = names.filter((n) => !byName.has(n));
    if (unknown.length > 0) return refuse("BERTH_PROMOTE_INVALID", { from, to, detail: `${env(from)} has no service ${unknown.join(", ")}`, next: `Services of ${from}: ${input.source.map((s) => s.name).join(", ") || "none"}.` });
    if (!input.target) return refuse("BERTH_PROMOTE_INVALID", { from, to, detail: `${env(to)} was never deployed, so it has no blueprint to add a single service to`, next: `Promote everything once with \`--all\`: ${to} then runs ${from}'s blueprint with its own settings.` });
    const missing = names.filter((n) => !input.target!.includes(n));
    if (missing.length > 0) return refuse("BERTH_PROMOTE_INVALID", { from, to, detail: `${env(to)} has no service ${missing.join(", ")} in its blueprint`, next: `Promote with \`--all\` to bring ${from}'s blueprint along.` });
  }
  const notLive = names.filter((n) => !byName.get(n)?.live);
  if (notLive.length > 0) return refuse("BERTH_PROMOTE_NOT_LIVE", { environment: env(from), services: notLive.join(", ") });
  const pins: Record<string, PromotionPin> = {};
  for (const n of names) {
    const live = byName.get(n)!.live!;
    pins[n] = { environment: from, release: live.release, source: live.source, artifact: live.artifact };
  }
  return { ok: true, blueprintOf: input.selection === "all" ? "source" : "target", services: names, pins };
}
