/**
 * Secrets and env groups of an environment (deployers): names, where each comes from and who set
 * it when — never a value. Values are write-only: the form sends one, the page never reads one.
 */
import { useState } from "preact/hooks";
import { api, seg } from "../api.ts";
import { useLive } from "../live.ts";
import { href } from "../router.ts";
import type { Environment } from "../types.ts";
import { ErrorBox, Loading, Table, When } from "../ui.tsx";

interface Listing {
  readonly environment: string;
  readonly owner: string;
  readonly name: string;
  readonly source: "set" | "generated";
  readonly updatedAt: string;
  readonly updatedBy: string;
}
interface SetResult {
  readonly rolls: readonly string[];
  readonly warnings: readonly string[];
}

export function SecretsPage(props: { project: string; environment: string }) {
  const { project, environment } = props;
  const base = `/v1/projects/${seg(project)}/environments` as const;
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [actionError, setActionError] = useState<Error | undefined>(undefined);
  const { data, error, reload } = useLive(
    () =>
      Promise.all([
        api<Listing[]>("GET", `${base}/${seg(environment)}/secrets`),
        api<{ name: string }[]>("GET", `/v1/projects/${seg(project)}/env-groups`),
        api<Environment>("GET", `${base}/${seg(environment)}`),
      ]),
    `${project}/${environment}`,
    () => false,
  );
  if (!data) return error ? <ErrorBox error={error} /> : <Loading />;
  const [secrets, groups, env] = data;
  const owners = [...env.services.map((s) => `service:${s.name}`), ...groups.map((g) => `group:${g.name}`)];
  const set = async (ev: Event) => {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const field = (n: string) => (form.elements.namedItem(n) as HTMLInputElement | HTMLSelectElement).value;
    const scope = field("scope");
    setActionError(undefined);
    try {
      const r = await api<SetResult>("PUT", `${base}/${seg(scope)}/secrets`, { owner: field("owner"), values: { [field("name").trim()]: field("value") } });
      form.reset();
      setNotice(`Saved. ${r.rolls.length ? `Services reading it roll in ${r.rolls.join(", ")}.` : "No service reads it, so nothing restarts."}${r.warnings.length ? ` ${r.warnings.join(" ")}` : ""}`);
      reload();
    } catch (e) {
      setActionError(e as Error);
    }
  };
  const remove = async (l: Listing) => {
    setActionError(undefined);
    try {
      await api("DELETE", `${base}/${seg(l.environment)}/secrets/${seg(l.owner)}/${seg(l.name)}`);
      setNotice(`Removed ${l.name} of ${l.owner}.`);
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
      <h1>Secrets</h1>
      <ErrorBox error={error} />
      <ErrorBox error={actionError} />
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <p class="muted">Values are write-only: Berth shows who set what and when, never the value.</p>
      <Table label="Secrets">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Owner</th>
            <th scope="col">Environment</th>
            <th scope="col">Source</th>
            <th scope="col">Changed</th>
            <th scope="col">By</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {secrets.map((l) => (
            <tr key={`${l.environment}/${l.owner}/${l.name}`} class="secret">
              <td>
                <code>{l.name}</code>
              </td>
              <td>{l.owner}</td>
              <td>{l.environment === "*" ? "all (default)" : l.environment}</td>
              <td>{l.source}</td>
              <td>
                <When at={l.updatedAt} />
              </td>
              <td>{l.updatedBy}</td>
              <td>
                {l.source === "set" && (
                  <button type="button" class="small" onClick={() => remove(l)}>
                    Remove {l.name}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </Table>
      <h2>Set a secret</h2>
      <form class="restore" onSubmit={set}>
        <label for="sec-owner">For</label>
        <select id="sec-owner" name="owner">
          {owners.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
        <label for="sec-name">Name</label>
        <input id="sec-name" name="name" required pattern="[A-Za-z_][A-Za-z0-9_]*" autocomplete="off" />
        <label for="sec-value">Value (write-only)</label>
        <input id="sec-value" name="value" type="password" required autocomplete="new-password" />
        <label for="sec-scope">Applies to</label>
        <select id="sec-scope" name="scope">
          <option value={environment}>{environment} only</option>
          <option value="*">every environment (default)</option>
        </select>
        <button type="submit">Save secret</button>
      </form>
      <h2>Env groups</h2>
      {groups.length === 0 ? <p>No env groups.</p> : <ul>{groups.map((g) => <li key={g.name}>{g.name}</li>)}</ul>}
    </>
  );
}
