/**
 * Promotion (issue 19): `berth promote --from staging --to production` records, as production's
 * desired state, the very artifacts staging runs — no rebuild — with production's own overrides,
 * env, secrets and resources. It is an ordinary sync of the target whose promoted services carry
 * the source's live release (source ref + artifact) in their inputs; the reconciler cuts
 * production releases from them (sealing production's env) and rolls them out. An environment
 * that requires approval holds it like any other deploy.
 */
import type { Blueprint } from "../blueprint/types.ts";
import type { Clock } from "../core/clock.ts";
import { BerthError } from "../core/errors.ts";
import type { EventSink } from "../core/events.ts";
import type { ReleaseInputs, SourceRef } from "../deploy/inputs.ts";
import { planPromotion, type SourceService } from "../deploy/promotion.ts";
import type { ServiceRow } from "../store/repositories/services.ts";
import type { Store } from "../store/store.ts";
import type { SyncRequest, SyncResult } from "./sync.ts";

export interface PromoteDeps {
  readonly store: Store;
  readonly sync: (request: SyncRequest, actor: string) => Promise<SyncResult>;
  readonly events: EventSink;
  readonly clock: Clock;
  /** A directory holding a git source's commit (the build cache's checkout). */
  readonly checkout: (source: Extract<SourceRef, { kind: "git" }>) => Promise<string>;
}

export interface PromoteRequest {
  readonly project: string;
  readonly from: string;
  readonly to: string;
  readonly services: "all" | readonly string[];
  readonly actor: string;
  /** The token's project check, as for a sync. */
  readonly requester?: SyncRequest["requester"];
}

export interface PromoteResult {
  readonly sync: SyncResult;
  readonly promoted: readonly { readonly service: string; readonly release: number; readonly digest: string }[];
}

export class Promoter {
  readonly #d: PromoteDeps;
  constructor(deps: PromoteDeps) {
    this.#d = deps;
  }

  async promote(request: PromoteRequest): Promise<PromoteResult> {
    const { store } = this.#d;
    const { project, from, to } = request;
    request.requester?.authorizeProject(project);
    const source = store.environments.byName(project, from);
    if (!source) throw new BerthError("BERTH_NOT_FOUND", { kind: "environment", name: `${project}/${from}` });
    const target = store.environments.byName(project, to);
    const plan = planPromotion({
      project,
      from,
      to,
      selection: request.services,
      source: store.services.list(source.id).map((s) => this.#live(s)),
      target: target ? store.services.list(target.id).map((s) => s.name) : undefined,
    });
    if (!plan.ok) throw new BerthError(plan.code, plan.params);
    const document = ((plan.blueprintOf === "source" ? source : target!).blueprint as Blueprint).source;
    const row = store.projects.require(project);
    const firstGit = Object.values(plan.pins).find((p) => p.source.kind === "git")?.source as Extract<SourceRef, { kind: "git" }> | undefined;
    const sourceDir = row.source.kind === "dir" ? row.source.path : firstGit ? await this.#d.checkout(firstGit) : "";
    const origin = { via: "promote" as const, from, services: [...plan.services], pins: Object.fromEntries(Object.entries(plan.pins).map(([n, p]) => [n, { ...p, artifact: { ...p.artifact } }])) };
    const sync = await this.#d.sync(
      {
        project,
        environment: to,
        // The recorded document is the validated blueprint; JSON is YAML, so it parses as written.
        blueprintText: `${JSON.stringify(document, null, 2)}\n`,
        file: `berth.yaml (as ${plan.blueprintOf === "source" ? from : to} records it)`,
        sourceDir,
        origin,
        ...(request.requester ? { requester: request.requester } : {}),
      },
      request.actor,
    );
    const promoted = plan.services.map((service) => ({ service, release: plan.pins[service]!.release, digest: plan.pins[service]!.artifact.digest }));
    this.#d.events.emit({ type: "deploy:promoted", scope: { project, environment: to }, actor: request.actor, data: { from, to, services: promoted, pending: sync.pending?.id ?? null } });
    return { sync, promoted };
  }

  /** A service's live release: the newest deploy that went live (what serves now, rollbacks included). */
  #live(s: ServiceRow): SourceService {
    const { store } = this.#d;
    const deploy = store.deploys.list({ serviceId: s.id, limit: 500 }).find((d) => d.status === "live" && d.releaseId);
    const release = deploy?.releaseId ? store.releases.byId(deploy.releaseId) : undefined;
    if (!release) return { name: s.name, live: undefined };
    const inputs = (release.config as { inputs?: ReleaseInputs }).inputs;
    if (!inputs) return { name: s.name, live: undefined };
    return { name: s.name, live: { release: release.number, source: inputs.source, artifact: release.artifact } };
  }
}
