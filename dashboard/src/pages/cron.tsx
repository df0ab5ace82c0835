/** Cron jobs of an environment: schedule, next run, run history, and "run now". */
import { useState } from "preact/hooks";
import { api, seg } from "../api.ts";
import { inScope, useLive } from "../live.ts";
import { href } from "../router.ts";
import type { CronJob, CronRun, Who } from "../types.ts";
import { Badge, Can, ErrorBox, Loading, ms, Table, When } from "../ui.tsx";

export function CronPage(props: { project: string; environment: string; who: Who }) {
  const { project, environment, who } = props;
  const base = `/v1/projects/${seg(project)}/environments/${seg(environment)}/cron/jobs` as const;
  const [actionError, setActionError] = useState<Error | undefined>(undefined);
  const { data, error, reload } = useLive(
    async () => {
      const jobs = await api<CronJob[]>("GET", base);
      const runs = await Promise.all(jobs.map((j) => api<CronRun[]>("GET", `${base}/${seg(j.service)}/runs?limit=10`)));
      return jobs.map((job, n) => ({ job, runs: runs[n] ?? [] }));
    },
    `${project}/${environment}`,
    (e) => inScope(project, environment)(e) && e.type.startsWith("cron:"),
  );
  if (!data) return error ? <ErrorBox error={error} /> : <Loading />;
  const runNow = async (job: string) => {
    setActionError(undefined);
    try {
      await api("POST", `${base}/${seg(job)}/runs`, {});
      reload();
    } catch (e) {
      setActionError(e as Error);
    }
  };
  return (
    <>
      <p class="crumbs">
        <a href={href({ page: "overview" })}>Overview</a> / <a href={href({ page: "environment", project, environment })}>{project} / {environment}</a>
      </p>
      <h1>Cron jobs</h1>
      <ErrorBox error={error} />
      <ErrorBox error={actionError} />
      {data.length === 0 && <p>No cron jobs in this environment.</p>}
      {data.map(({ job, runs }) => (
        <article class="card" key={job.name} data-job={job.service}>
          <h2>
            {job.service} {job.suspended && <Badge state="suspended" />}
          </h2>
          <p>
            <code>{job.schedule}</code> ({job.timezone}) runs <code>{job.command}</code>. Next: <When at={job.nextRunAt} />
          </p>
          <Can role={who.role} need="deployer">
            <button type="button" onClick={() => runNow(job.service)}>
              Run {job.service} now
            </button>
          </Can>
          <h3>Runs</h3>
          {runs.length === 0 ? (
            <p>No runs yet.</p>
          ) : (
            <Table label={`Runs of ${job.service}`}>
              <thead>
                <tr>
                  <th scope="col">Run</th>
                  <th scope="col">Trigger</th>
                  <th scope="col">Status</th>
                  <th scope="col">Started</th>
                  <th scope="col">Took</th>
                  <th scope="col">Exit</th>
                </tr>
              </thead>
              <tbody>
                {runs.map((r) => (
                  <tr key={r.id} class="run" data-status={r.status}>
                    <td>
                      <code>{r.id}</code>
                    </td>
                    <td>
                      {r.trigger}
                      {r.attempt > 1 ? ` #${r.attempt}` : ""}
                    </td>
                    <td>
                      <Badge state={r.status} /> {r.reason && <span class="detail">{r.reason}</span>}
                    </td>
                    <td>
                      <When at={r.startedAt} />
                    </td>
                    <td>{ms(r.durationMs)}</td>
                    <td>{r.exitCode ?? "—"}</td>
                  </tr>
                ))}
              </tbody>
            </Table>
          )}
        </article>
      ))}
    </>
  );
}
