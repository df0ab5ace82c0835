/**
 * One service: instances, the redeploy button, deploys with their steps and timings (refreshed
 * from the event stream while a rollout runs), releases with rollback, recent logs with search,
 * and metrics charts.
 */
import { useEffect, useState } from "preact/hooks";
import { api, apiLines, type BerthEvent, followLines, seg } from "../api.ts";
import { inScope, useLive } from "../live.ts";
import { href } from "../router.ts";
import type { Deploy, Environment, Release, Who } from "../types.ts";
import { Badge, Can, ErrorBox, Loading, ms, Table, When } from "../ui.tsx";
import { Metrics } from "./metrics.tsx";

interface Props {
  readonly project: string;
  readonly environment: string;
  readonly service: string;
  readonly who: Who;
}

export function ServicePage(props: Props) {
  const { project, environment, service, who } = props;
  const envPath = `/v1/projects/${seg(project)}/environments/${seg(environment)}` as const;
  const svcPath = `${envPath}/services/${seg(service)}` as const;
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [actionError, setActionError] = useState<Error | undefined>(undefined);
  const { data, error } = useLive(
    async () => {
      const [env, deploys, releases, events] = await Promise.all([
        api<Environment>("GET", envPath),
        api<Deploy[]>("GET", `${envPath}/deploys?service=${seg(service)}&limit=10`),
        api<Release[]>("GET", `${svcPath}/releases`),
        api<BerthEvent[]>("GET", `/v1/events?project=${seg(project)}&environment=${seg(environment)}&limit=300`),
      ]);
      return { svc: env.services.find((s) => s.name === service), deploys, releases, events: events.filter((e) => e.scope.service === service).slice(-15).reverse() };
    },
    `${project}/${environment}/${service}`,
    inScope(project, environment, service),
  );
  if (!data) return error ? <ErrorBox error={error} /> : <Loading />;
  const { svc, deploys, releases, events } = data;
  if (!svc) return <p>No service {service} in {project}/{environment}.</p>;

  const act = async (label: string, path: `/v1/${string}`, body: unknown) => {
    setActionError(undefined);
    setNotice(undefined);
    try {
      const r = await api<{ release: number | null }>("POST", path, body);
      setNotice(`${label} requested${r.release ? `: release ${r.release}` : ""}. Its steps appear below as they run.`);
    } catch (e) {
      setActionError(e as Error);
    }
  };
  const current = deploys[0];
  return (
    <>
      <p class="crumbs">
        <a href={href({ page: "overview" })}>Overview</a> / <a href={href({ page: "environment", project, environment })}>{project} / {environment}</a>
      </p>
      <h1>
        {service} <span class="muted">({svc.kind})</span> {svc.failed && <Badge state="failed" />}
      </h1>
      <ErrorBox error={error} />
      <div class="actions">
        <Can role={who.role} need="deployer">
          {svc.kind !== "cron" && (
            <button type="button" onClick={() => act("Redeploy", `${svcPath}/redeploy`, undefined)}>
              Redeploy
            </button>
          )}
        </Can>
        {svc.urls.map((u) => (
          <a key={u} href={u}>
            {u}
          </a>
        ))}
      </div>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <ErrorBox error={actionError} />

      <h2>Instances</h2>
      {svc.instances.length === 0 ? (
        <p>No instances{svc.kind === "cron" ? ": a cron job runs on its schedule" : ""}.</p>
      ) : (
        <Table label="Instances">
          <thead>
            <tr>
              <th scope="col">Instance</th>
              <th scope="col">State</th>
              <th scope="col">Release</th>
              <th scope="col">Restarts</th>
              <th scope="col">Port</th>
              <th scope="col">Started</th>
            </tr>
          </thead>
          <tbody>
            {svc.instances.map((i) => (
              <tr key={i.id}>
                <td>
                  <code>{i.id}</code>
                </td>
                <td>
                  <Badge state={i.state} />
                </td>
                <td>{i.release ?? "—"}</td>
                <td>{i.restarts}</td>
                <td>{i.port ?? "—"}</td>
                <td>
                  <When at={i.startedAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}

      <h2>Deploys</h2>
      {deploys.length === 0 && <p>No deploys yet.</p>}
      <ol class="deploys">
        {deploys.map((d) => (
          <li key={d.id} class="card deploy" data-deploy={d.id} data-status={d.status}>
            <details open={d === current}>
              <summary>
                Release {d.release ?? "—"} <Badge state={d.status} /> <When at={d.createdAt} /> by {d.actor}
                {d.reason && <span class="detail"> — {d.reason}</span>}
              </summary>
              <Table label={`Steps of deploy ${d.id}`}>
                <thead>
                  <tr>
                    <th scope="col">Step</th>
                    <th scope="col">Time</th>
                    <th scope="col">Detail</th>
                  </tr>
                </thead>
                <tbody>
                  {d.steps.map((s, n) => (
                    <tr key={`${s.step}-${n}`} class="step">
                      <td>{s.step}</td>
                      <td>{ms(s.ms)}</td>
                      <td>{s.detail}</td>
                    </tr>
                  ))}
                  {d.step && !d.finishedAt && (
                    <tr class="step running">
                      <td>{d.step}</td>
                      <td>running…</td>
                      <td />
                    </tr>
                  )}
                </tbody>
              </Table>
            </details>
          </li>
        ))}
      </ol>

      <h2>Releases</h2>
      <Table label="Releases">
        <thead>
          <tr>
            <th scope="col">Release</th>
            <th scope="col">Created</th>
            <th scope="col">Artifact</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {releases
            .slice()
            .reverse()
            .map((r) => (
              <tr key={r.number}>
                <td>
                  {r.number} {r.desired && <Badge state="live" />}
                </td>
                <td>
                  <When at={r.createdAt} />
                </td>
                <td>
                  <code>{r.digest.slice(0, 19)}</code>
                </td>
                <td>
                  <Can role={who.role} need="deployer">
                    {!r.desired && (
                      <button type="button" class="small" onClick={() => act(`Rollback to release ${r.number}`, `${svcPath}/rollback`, { release: r.number })}>
                        Roll back to {r.number}
                      </button>
                    )}
                  </Can>
                </td>
              </tr>
            ))}
        </tbody>
      </Table>

      <h2>Activity</h2>
      <ul class="events">
        {events.map((e) => (
          <li key={e.seq}>
            <When at={e.at} /> <code>{e.type}</code> <span class="detail">{summarize(e)}</span>
          </li>
        ))}
      </ul>

      <Logs svcPath={svcPath} />
      <Metrics svcPath={svcPath} />
    </>
  );
}

function summarize(e: BerthEvent): string {
  const d = e.data as Record<string, unknown>;
  const parts = ["step", "detail", "reason", "instance", "release"].filter((k) => d[k] !== undefined).map((k) => `${k}: ${String(d[k])}`);
  return parts.join(", ");
}

interface LogLine {
  readonly at?: string;
  readonly instance?: string;
  readonly stream?: string;
  readonly line: string;
}

function Logs(props: { svcPath: string }) {
  const [lines, setLines] = useState<LogLine[] | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [following, setFollowing] = useState<AbortController | undefined>(undefined);
  useEffect(() => () => following?.abort(), [following]);
  const query = (form: HTMLFormElement) => {
    const q = (form.elements.namedItem("grep") as HTMLInputElement).value;
    return q ? `&grep=${seg(q)}` : "";
  };
  const search = async (ev: Event) => {
    ev.preventDefault();
    following?.abort();
    setFollowing(undefined);
    try {
      setError(undefined);
      const all = await apiLines<LogLine>(`${props.svcPath}/logs?since=1h${query(ev.currentTarget as HTMLFormElement)}` as `/v1/${string}`);
      setLines(all.slice(-MAX_LINES));
    } catch (e) {
      setError(e as Error);
    }
  };
  const follow = (form: HTMLFormElement | null) => {
    if (!form) return;
    if (following) {
      following.abort();
      setFollowing(undefined);
      return;
    }
    const ctl = new AbortController();
    setFollowing(ctl);
    setError(undefined);
    setLines([]);
    followLines<LogLine>(
      `${props.svcPath}/logs?since=5m&follow=true${query(form)}` as `/v1/${string}`,
      (l) => setLines((prev) => [...(prev ?? []), l].slice(-MAX_LINES)),
      ctl.signal,
    ).catch((e: Error) => setError(e));
  };
  return (
    <section aria-labelledby="logs">
      <h2 id="logs">Logs</h2>
      <form class="inline" onSubmit={search}>
        <label for="grep">Search</label>
        <input id="grep" name="grep" type="search" />
        <button type="submit">Last hour</button>
        <button type="button" aria-pressed={following !== undefined} onClick={(e) => follow((e.currentTarget as HTMLButtonElement).form)}>
          {following ? "Stop following" : "Follow live"}
        </button>
      </form>
      <ErrorBox error={error} />
      {lines && (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
        <pre class="logs" tabIndex={0} role="log" aria-label="Log lines">
          {lines.length === 0 ? (following ? "Waiting for lines…" : "No lines.") : lines.map((l) => `${l.at ?? ""} ${l.instance ?? ""} ${l.line}`).join("\n")}
        </pre>
      )}
    </section>
  );
}

/** Lines kept on the page: a followed log must not grow without bound. */
const MAX_LINES = 500;
