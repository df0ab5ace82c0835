/**
 * What the API is built from: services injected by the composition root (no singletons), and
 * the Fastify augmentations for auth (each route states the role it needs in its config).
 */
import type { Clock } from "../core/clock.ts";
import type { CronScheduler } from "../cron/scheduler.ts";
import type { Engine, ServiceRef } from "../engine/engine.ts";
import type { NodeAdmin } from "../engine/nodes.ts";
import type { EventBus } from "../observe/event-bus.ts";
import type { Secrets } from "../secrets/setup.ts";
import type { AuditRepository } from "../store/repositories/audit.ts";
import type { ProjectPolicyRepository } from "../store/repositories/project-policies.ts";
import type { Role, TokenRow } from "../store/repositories/tokens.ts";
import type { Store } from "../store/store.ts";
import type { SyncRequest, SyncResult } from "../reconcile/sync.ts";
import type { ResourceManager } from "../reconcile/resources.ts";
import type { GitDeployer } from "../reconcile/git-deploy.ts";
import type { ServedRepos } from "../reconcile/served-repos.ts";
import type { OperationRunner } from "../reconcile/operations.ts";
import type { Approvals } from "../reconcile/approvals.ts";
import type { Previews } from "../reconcile/previews.ts";
import type { Promoter } from "../reconcile/promote.ts";
import type { MetricsCollector } from "../observe/metrics/collector.ts";
import type { MetricsRepository } from "../store/repositories/metrics.ts";
import type { AlertManager } from "../observe/alerts/manager.ts";

export interface ApiDeps {
  readonly store: Store;
  readonly bus: EventBus;
  readonly engine: Engine;
  readonly clock: Clock;
  readonly version: string;
  /** Records desired state from a blueprint and enqueues a reconcile. */
  readonly sync: (request: SyncRequest, actor: string) => Promise<SyncResult>;
  /** Public URLs of a routed service (none when the router is off or the service is private). */
  readonly urls?: (ref: ServiceRef) => string[];
  /** Enqueues a reconcile of an environment. */
  readonly requestReconcile: (environmentId: string) => void;
  /** The cron scheduler (issue 8): a manual trigger records a run and wakes it. */
  readonly cron?: Pick<CronScheduler, "trigger">;
  /** Secret store, keyring and KEK source (issue 9): secrets, env groups, rotations. */
  readonly secrets?: Secrets;
  /** The append-only audit log (issue 9), written by audit-hook.ts. */
  readonly audit?: AuditRepository;
  /** Masks every known secret value in a text (issue 9): applied to response bodies. */
  readonly redact?: (text: string) => string;
  /** Managed Postgres/Redis of environments (issue 7): the data CLI's backups, restores, drills. */
  readonly resources?: Pick<ResourceManager, "providers" | "password" | "refresh" | "recover">;
  /** Git auto-deploy (issue 5): followed repositories, served bare repositories, the push webhook. */
  readonly git?: { readonly deployer: GitDeployer; readonly served: ServedRepos };
  /** Preview environments per pull request (issue 19). */
  readonly previews?: Previews;
  /** Recorded operations (issue 15): entry points enqueue, `/v1/operations` shows and cancels. */
  readonly operations?: Pick<OperationRunner, "enqueue" | "cancel">;
  /** Quotas and allowed ports per project, set by owners (issue 17). */
  readonly policies?: ProjectPolicyRepository;
  /** Metrics and alerts (issue 18). */
  readonly observe?: { readonly collector: MetricsCollector; readonly repo: MetricsRepository; readonly alerts?: AlertManager };
  /** Environments as a workflow (issue 19): promotion and the decisions on held deploys. */
  readonly workflow?: { readonly approvals: Approvals; readonly promoter: Promoter };
  /** The swarm's machines (issue 20); absent when the daemon manages no Docker Swarm. */
  readonly nodes?: NodeAdmin;
  /** The dashboard's built files (issue 21), served under `/dashboard/` when the directory exists. */
  readonly dashboardDir?: string;
  /** Tests want quiet servers. */
  readonly logger?: boolean;
}

declare module "fastify" {
  interface FastifyRequest {
    principal?: TokenRow;
    /** The project a route acted on when it has no :project parameter; recorded in the audit row. */
    auditProject?: string;
  }
  interface FastifyContextConfig {
    /** Minimum role; absent only on public routes. */
    role?: Role;
    public?: boolean;
  }
}
