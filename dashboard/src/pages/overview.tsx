/** The overview: what is failing first, across every environment; then everything else. */
import { api, type BerthEvent } from "../api.ts";
import { useLive } from "../live.ts";
import { href } from "../router.ts";
import { openFailures, PROBLEM_LABEL, triage } from "../triage.ts";
import type { Alert, Status } from "../types.ts";
import { Badge, ErrorBox, Loading, Table } from "../ui.tsx";

interface OverviewData {
  readonly status: Status;
  readonly alerts: readonly Alert[];
  readonly failures: readonly BerthEvent[];
}

async function load(): Promise<OverviewData> {
  const [status, alerts, dataEvents] = await Promise.all([
    api<Status>("GET", "/v1/status"),
    // The alerts API exists only when metrics are on.
    api<Alert[]>("GET", "/v1/alerts?state=firing").catch(() => [] as Alert[]),
    api<BerthEvent[]>("GET", "/v1/events?type=backup:failed,backup:completed,drill:failed,drill:passed&limit=500"),
  ]);
  return { status, alerts, failures: openFailures(dataEvents, Date.now()) };
}

const RELEVANT = /^(deploy:(live|failed|started)|instance:|alert:|backup:(failed|completed)|drill:)/;

export function Overview() {
  const { data, error } = useLive(load, "overview", (e) => RELEVANT.test(e.type));
  if (!data) return error ? <ErrorBox error={error} /> : <Loading />;
  const problems = triage(data.status.environments, data.alerts, data.failures);
  return (
    <>
      <h1>Overview</h1>
      <ErrorBox error={error} />
      <section aria-labelledby="failing">
        <h2 id="failing">Needs attention ({problems.length})</h2>
        {problems.length === 0 ? (
          <p class="allgood">Nothing is failing.</p>
        ) : (
          <ul class="problems">
            {problems.map((p) => (
              <li key={`${p.kind}:${p.project}/${p.environment}/${p.subject}`} class={`problem ${p.kind}`} data-kind={p.kind}>
                <strong>{PROBLEM_LABEL[p.kind]}</strong>{" "}
                {p.service ? (
                  <a href={href({ page: "service", project: p.project, environment: p.environment, service: p.service })}>
                    {p.project}/{p.environment}/{p.subject}
                  </a>
                ) : (
                  <a href={href({ page: "databases", project: p.project, environment: p.environment })}>
                    {p.project}/{p.environment}/{p.subject}
                  </a>
                )}
                <span class="detail">{p.detail}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="envs">
        <h2 id="envs">Environments</h2>
        {data.status.environments.length === 0 && <p>No environments yet: run <code>berth up</code> in a project.</p>}
        {data.status.environments.map((env) => (
          <article class="card" key={`${env.project}/${env.name}`}>
            <h3>
              <a href={href({ page: "environment", project: env.project, environment: env.name })}>
                {env.project} / {env.name}
              </a>{" "}
              <Badge state={env.status} />
            </h3>
            {env.statusDetail && <p class="muted">{env.statusDetail}</p>}
            <Table label={`Services of ${env.project}/${env.name}`}>
              <thead>
                <tr>
                  <th scope="col">Service</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Healthy</th>
                  <th scope="col">Release</th>
                </tr>
              </thead>
              <tbody>
                {env.services.map((s) => (
                  <tr key={s.name}>
                    <td>
                      <a href={href({ page: "service", project: env.project, environment: env.name, service: s.name })}>{s.name}</a>
                    </td>
                    <td>{s.kind}</td>
                    <td>{s.kind === "cron" ? "—" : `${s.instances.filter((i) => i.state === "healthy").length} / ${s.replicas}`}</td>
                    <td>{s.release ?? "—"}</td>
                  </tr>
                ))}
              </tbody>
            </Table>
            {env.servicesTotal > env.services.length && (
              <p class="muted">
                {env.services.length} of {env.servicesTotal} services shown (problems first).
              </p>
            )}
          </article>
        ))}
      </section>
    </>
  );
}
