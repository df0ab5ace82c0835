/**
 * Databases of an environment: state, backups, drills, restore points, and (owner only) a
 * point-in-time restore form that says what will happen before it does it.
 */
import { useState } from "preact/hooks";
import { api, seg } from "../api.ts";
import { inScope, useLive } from "../live.ts";
import { href } from "../router.ts";
import type { Backup, Database, Drill, Who } from "../types.ts";
import { Badge, Can, ErrorBox, Loading, ms, Table, When } from "../ui.tsx";

interface DbData {
  readonly db: Database;
  readonly backups: readonly Backup[];
  readonly drills: readonly Drill[];
}

export function DatabasesPage(props: { project: string; environment: string; who: Who }) {
  const { project, environment, who } = props;
  const base = `/v1/projects/${seg(project)}/environments/${seg(environment)}/databases` as const;
  const { data, error } = useLive(
    async (): Promise<DbData[]> => {
      const { databases } = await api<{ databases: Database[] }>("GET", base);
      return Promise.all(
        databases.map(async (db) => {
          const b = await api<{ backups: Backup[]; drills: Drill[] }>("GET", `${base}/${seg(db.resource)}/backups`).catch(() => ({ backups: [], drills: [] }));
          return { db, ...b };
        }),
      );
    },
    `${project}/${environment}`,
    (e) => inScope(project, environment)(e) && /^(backup|restore|drill|data):/.test(e.type),
  );
  if (!data) return error ? <ErrorBox error={error} /> : <Loading />;
  return (
    <>
      <p class="crumbs">
        <a href={href({ page: "overview" })}>Overview</a> / <a href={href({ page: "environment", project, environment })}>{project} / {environment}</a>
      </p>
      <h1>Databases</h1>
      <ErrorBox error={error} />
      {data.length === 0 && <p>No databases in this environment.</p>}
      {data.map((d) => (
        <DatabaseCard key={d.db.resource} data={d} base={`${base}/${seg(d.db.resource)}`} who={who} />
      ))}
    </>
  );
}

function DatabaseCard(props: { data: DbData; base: string; who: Who }) {
  const { db, backups, drills } = props.data;
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [actionError, setActionError] = useState<Error | undefined>(undefined);
  const post = async (label: string, path: string, body: unknown) => {
    setActionError(undefined);
    try {
      const r = await api<{ id?: string }>("POST", path as `/v1/${string}`, body);
      setNotice(`${label} recorded${r?.id ? ` as operation ${r.id}` : ""}.`);
    } catch (e) {
      setActionError(e as Error);
    }
  };
  return (
    <article class="card" data-db={db.resource}>
      <h2>
        {db.resource} <Badge state={db.running ? "running" : "stopped"} />
      </h2>
      <p>
        PostgreSQL {db.version ?? "?"}; WAL archiving {db.archiving}; last good backup <When at={db.lastGoodBackup?.at} />; last drill{" "}
        {db.lastDrill ? (
          <>
            <When at={db.lastDrill.at} /> <Badge state={db.lastDrill.ok ? "succeeded" : "failed"} />
          </>
        ) : (
          "never"
        )}
        ; restorable from <When at={db.restorableFrom} />.
      </p>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <ErrorBox error={actionError} />
      <Can role={props.who.role} need="deployer">
        <div class="actions">
          <button type="button" onClick={() => post("Backup", `${props.base}/backups`, { kind: "base" })}>
            Back up {db.resource} now
          </button>
          <button type="button" onClick={() => post("Restore drill", `${props.base}/drills`, {})}>
            Run a restore drill
          </button>
        </div>
      </Can>
      <h3>Backups</h3>
      {backups.length === 0 ? (
        <p>No backups yet.</p>
      ) : (
        <Table label={`Backups of ${db.resource}`}>
          <thead>
            <tr>
              <th scope="col">Backup</th>
              <th scope="col">Kind</th>
              <th scope="col">Finished</th>
              <th scope="col">Size</th>
              <th scope="col">Verified</th>
            </tr>
          </thead>
          <tbody>
            {backups.map((b) => (
              <tr key={b.id}>
                <td>
                  <code>{b.id}</code>
                </td>
                <td>{b.kind}</td>
                <td>
                  <When at={b.finishedAt} />
                </td>
                <td>{(b.sizeBytes / 1_048_576).toFixed(1)} MB</td>
                <td>{b.verified ? "yes" : `no${b.failure ? `: ${b.failure}` : ""}`}</td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      <h3>Restore drills</h3>
      {drills.length === 0 ? (
        <p>No drills yet.</p>
      ) : (
        <ul>
          {drills.map((d) => (
            <li key={d.id}>
              <When at={d.at} /> <Badge state={d.ok ? "succeeded" : "failed"} /> from <code>{d.backup}</code>, restored in {ms(d.rtoMs)}. {d.detail}
            </li>
          ))}
        </ul>
      )}
      <Can role={props.who.role} need="owner">
        <RestoreForm resource={db.resource} restorableFrom={db.restorableFrom} onSubmit={(body) => post(`Restore of ${db.resource}`, `${props.base}/restores`, body)} />
      </Can>
    </article>
  );
}

/** What a restore to `to` does, in the words of the API's contract (POST .../restores). */
export function restoreExplanation(resource: string, to: string, keep: boolean): string {
  const target = to === "latest" ? "the latest recoverable moment" : to.startsWith("point:") ? `the restore point ${to.slice(6)}` : /^\d{4}-/.test(to) ? `the time ${to}` : `the backup ${to}`;
  const start = `Berth starts a new PostgreSQL server for ${resource} from the base backup before ${target} and replays the WAL archive up to it.`;
  return keep
    ? `${start} The new server is kept beside the live one for you to inspect; nothing switches and no service restarts.`
    : `${start} Then the new server is promoted: services that use ${resource} roll onto it, the old server keeps serving instances still on it until they are gone, then stops, its directory kept.`;
}

function RestoreForm(props: { resource: string; restorableFrom: string | null; onSubmit: (body: { to: string; keep: boolean }) => void }) {
  const [to, setTo] = useState("latest");
  const [keep, setKeep] = useState(false);
  const id = `restore-${props.resource}`;
  return (
    <form
      class="restore"
      aria-labelledby={`${id}-title`}
      onSubmit={(ev) => {
        ev.preventDefault();
        props.onSubmit({ to: to.trim() || "latest", keep });
      }}
    >
      <h3 id={`${id}-title`}>Restore {props.resource}</h3>
      <label for={`${id}-to`}>Restore to (latest, a time such as 2026-12-06T05:00:00Z, a backup id, or point:NAME)</label>
      <input id={`${id}-to`} value={to} onInput={(e) => setTo((e.currentTarget as HTMLInputElement).value)} />
      <label class="check">
        <input type="checkbox" checked={keep} onChange={(e) => setKeep((e.currentTarget as HTMLInputElement).checked)} /> Keep beside the live server (do not promote)
      </label>
      <p class="explain" aria-live="polite">
        {restoreExplanation(props.resource, to.trim() || "latest", keep)}
        {props.restorableFrom ? (
          <>
            {" "}
            The earliest reachable time is <When at={props.restorableFrom} />.
          </>
        ) : (
          " There is no verified backup yet, so there is nothing to restore from: take a backup first."
        )}
      </p>
      <button type="submit" class="danger">
        Restore {props.resource}
      </button>
    </form>
  );
}
