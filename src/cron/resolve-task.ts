/**
 * The TaskResolver the daemon uses: a job runs against its service's spec and desired (current)
 * release as recorded in the store. A cron service with no release yet cannot run; the run is
 * recorded failed with BERTH_CRON_TASK_UNAVAILABLE's message.
 */
import { BerthError } from "../core/errors.ts";
import type { Db } from "../store/db.ts";
import { EnvironmentRepository } from "../store/repositories/environments.ts";
import { ReleaseRepository } from "../store/repositories/releases.ts";
import { ServiceRepository } from "../store/repositories/services.ts";
import { jobKey } from "./job.ts";
import type { TaskResolver } from "./task.ts";

export function storeTaskResolver(db: Db): TaskResolver {
  const environments = new EnvironmentRepository(db);
  const services = new ServiceRepository(db);
  const releases = new ReleaseRepository(db);
  return async (job) => {
    const unavailable = (detail: string) => new BerthError("BERTH_CRON_TASK_UNAVAILABLE", { job: jobKey(job.ref), detail });
    const env = environments.byName(job.ref.project, job.ref.environment);
    if (!env) throw unavailable("its environment does not exist");
    const service = services.byName(env.id, job.ref.service);
    if (!service) throw unavailable("its service does not exist");
    const release = service.desiredReleaseId ? releases.byId(service.desiredReleaseId) : undefined;
    if (!release) throw unavailable("the service has no release yet");
    return {
      service: service.spec,
      release: { id: release.id, number: release.number, service: job.ref, artifact: release.artifact, sealedEnv: release.sealedEnv },
    };
  };
}
