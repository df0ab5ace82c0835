/** One environment: its services with instances, recent deploys, and the way to its jobs and data. */
import { api, seg } from "../api.ts";
import { inScope, useLive } from "../live.ts";
import { href } from "../router.ts";
import type { Deploy, Environment, Who } from "../types.ts";
import { Badge, Can, ErrorBox, Loading, ms, Table, When } from "../ui.tsx";

export function EnvironmentPage(props: { project: string; environment: string; who: Who }) {
  const { project, environment } = props;
  const base = `/v1/projects/${seg(project)}/environments/${seg(environment)}` as const;
  const { data, error } = useLive(
    () => Promise.all([api<Environment>("GET", base), api<Deploy[]>("GET", `${base}/deploys?limit=20`)]),
    `${project}/${environment}`,
    inScope(project, environment),
  );
  if (!data) return error ? <ErrorBox error={error} /> : <Loading />;
  const [env, deploys] = data;
  return (
    <>
      <p class="crumbs">
        <a href={href({ page: "overview" })}>Overview</a> / {project}
      </p>
      <h1>
        {project} / {environment} <Badge state={env.status} />
      </h1>
      <ErrorBox error={error} />
      <nav aria-label="Environment" class="tabs">
        <a href={href({ page: "cron", project, environment })}>Cron jobs</a>
        <a href={href({ page: "databases", project, environment })}>Databases</a>
        <Can role={props.who.role} need="deployer">
          <a href={href({ page: "secrets", project, environment })}>Secrets</a>
        </Can>
      </nav>
      <h2>Services</h2>
      <Table label="Services">
        <thead>
          <tr>
            <th scope="col">Service</th>
            <th scope="col">Kind</th>
            <th scope="col">Instances</th>
            <th scope="col">Release</th>
            <th scope="col">URL</th>
          </tr>
        </thead>
        <tbody>
          {env.services.map((s) => (
            <tr key={s.name}>
              <td>
                <a href={href({ page: "service", project, environment, service: s.name })}>{s.name}</a>
                {s.failed && (
                  <>
                    {" "}
                    <Badge state="failed" />
                  </>
                )}
              </td>
              <td>{s.kind}</td>
              <td>
                {s.instances.length === 0 ? "—" : s.instances.map((i) => <Badge key={i.id} state={i.state} />)}
              </td>
              <td>{s.release ?? "—"}</td>
              <td>{s.urls[0] ? <a href={s.urls[0]}>{s.urls[0]}</a> : "—"}</td>
            </tr>
          ))}
        </tbody>
      </Table>
      <h2>Recent deploys</h2>
      <Table label="Recent deploys">
        <thead>
          <tr>
            <th scope="col">Service</th>
            <th scope="col">Release</th>
            <th scope="col">Status</th>
            <th scope="col">Started</th>
            <th scope="col">Took</th>
            <th scope="col">By</th>
          </tr>
        </thead>
        <tbody>
          {deploys.map((d) => (
            <tr key={d.id}>
              <td>
                <a href={href({ page: "service", project, environment, service: d.service })}>{d.service}</a>
              </td>
              <td>{d.release ?? "—"}</td>
              <td>
                <Badge state={d.status} /> {d.reason && <span class="detail">{d.reason}</span>}
              </td>
              <td>
                <When at={d.createdAt} />
              </td>
              <td>{d.finishedAt ? ms(Date.parse(d.finishedAt) - Date.parse(d.createdAt)) : "—"}</td>
              <td>{d.actor}</td>
            </tr>
          ))}
        </tbody>
      </Table>
    </>
  );
}
