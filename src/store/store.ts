/**
 * The store: one SQLite database and its repositories. Constructed by the composition root and
 * passed down explicitly; there is no module-level instance.
 */
import { type Db, openDb } from "./db.ts";
import { DeployRepository } from "./repositories/deploys.ts";
import { EnvironmentRepository } from "./repositories/environments.ts";
import { EventRepository } from "./repositories/events.ts";
import { InstanceRepository } from "./repositories/instances.ts";
import { OperationRepository } from "./repositories/operations.ts";
import { PendingDeployRepository } from "./repositories/pending-deploys.ts";
import { PreviewRepository } from "./repositories/previews.ts";
import { ProjectRepository } from "./repositories/projects.ts";
import { ReconcileQueue } from "./repositories/reconcile-queue.ts";
import { ReleaseRepository } from "./repositories/releases.ts";
import { RunRepository } from "./repositories/runs.ts";
import { ServiceRepository } from "./repositories/services.ts";
import { SessionRepository } from "./repositories/sessions.ts";
import { TokenRepository } from "./repositories/tokens.ts";

export interface Store {
  readonly db: Db;
  readonly projects: ProjectRepository;
  readonly environments: EnvironmentRepository;
  readonly services: ServiceRepository;
  readonly releases: ReleaseRepository;
  readonly deploys: DeployRepository;
  readonly instances: InstanceRepository;
  readonly runs: RunRepository;
  readonly events: EventRepository;
  readonly tokens: TokenRepository;
  /** Dashboard sessions made from tokens (issue 21). */
  readonly sessions: SessionRepository;
  readonly queue: ReconcileQueue;
  /** Recorded intent for long work (issue 15): git-push deploys, backups, restores. */
  readonly operations: OperationRepository;
  /** Deploys held by approval gates (issue 19). */
  readonly pendingDeploys: PendingDeployRepository;
  /** Preview environments per pull request (issue 19). */
  readonly previews: PreviewRepository;
  close(): void;
}

export function openStore(path: string): Store {
  const db = openDb(path);
  return {
    db,
    projects: new ProjectRepository(db),
    environments: new EnvironmentRepository(db),
    services: new ServiceRepository(db),
    releases: new ReleaseRepository(db),
    deploys: new DeployRepository(db),
    instances: new InstanceRepository(db),
    runs: new RunRepository(db),
    events: new EventRepository(db),
    tokens: new TokenRepository(db),
    sessions: new SessionRepository(db),
    queue: new ReconcileQueue(db),
    operations: new OperationRepository(db),
    pendingDeploys: new PendingDeployRepository(db),
    previews: new PreviewRepository(db),
    close: () => db.close(),
  };
}
