/**
 * Access (owners): API tokens — list, create (the value is shown once), revoke — and the audit
 * log of every mutating request and secret read, newest first, filterable by actor.
 */
import { useState } from "preact/hooks";
import { api, seg } from "../api.ts";
import { useLive } from "../live.ts";
import type { Role } from "../types.ts";
import { ErrorBox, Loading, Table, When } from "../ui.tsx";

interface Token {
  readonly name: string;
  readonly role: Role;
  readonly projects: readonly string[];
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
}
interface AuditEntry {
  readonly seq: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly status: number;
  readonly address: string;
}

export function AccessPage() {
  const [actor, setActor] = useState("");
  const [created, setCreated] = useState<{ name: string; token: string } | undefined>(undefined);
  const [actionError, setActionError] = useState<Error | undefined>(undefined);
  const { data, error, reload } = useLive(
    () => Promise.all([api<Token[]>("GET", "/v1/tokens"), api<AuditEntry[]>("GET", `/v1/audit?limit=200${actor ? `&actor=${seg(actor)}` : ""}`)]),
    `access:${actor}`,
    () => false,
  );
  if (!data) return error ? <ErrorBox error={error} /> : <Loading />;
  const [tokens, audit] = data;
  const create = async (ev: Event) => {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const name = (form.elements.namedItem("name") as HTMLInputElement).value.trim();
    const role = (form.elements.namedItem("role") as HTMLSelectElement).value;
    const projects = (form.elements.namedItem("projects") as HTMLInputElement).value.split(",").map((p) => p.trim()).filter(Boolean);
    setActionError(undefined);
    try {
      const r = await api<{ name: string; token: string }>("POST", "/v1/tokens", { name, role, projects });
      setCreated(r);
      form.reset();
      reload();
    } catch (e) {
      setActionError(e as Error);
    }
  };
  const revoke = async (name: string) => {
    setActionError(undefined);
    try {
      await api("DELETE", `/v1/tokens/${seg(name)}`);
      reload();
    } catch (e) {
      setActionError(e as Error);
    }
  };
  return (
    <>
      <h1>Access</h1>
      <ErrorBox error={error} />
      <ErrorBox error={actionError} />
      <h2>API tokens</h2>
      {created && (
        <p class="notice" role="status">
          Token <strong>{created.name}</strong> created. Copy it now, it is not shown again: <code>{created.token}</code>
        </p>
      )}
      <Table label="API tokens">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">Projects</th>
            <th scope="col">Last used</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {tokens.map((t) => (
            <tr key={t.name}>
              <td>{t.name}</td>
              <td>{t.role}</td>
              <td>{t.projects.length ? t.projects.join(", ") : "all"}</td>
              <td>
                <When at={t.lastUsedAt} />
              </td>
              <td>
                {t.revokedAt ? (
                  <>
                    revoked <When at={t.revokedAt} />
                  </>
                ) : (
                  <button type="button" class="small" onClick={() => revoke(t.name)}>
                    Revoke {t.name}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </Table>
      <form class="inline" onSubmit={create} aria-label="Create a token">
        <label for="tok-name">Name</label>
        <input id="tok-name" name="name" required pattern="[a-zA-Z0-9._-]{1,64}" />
        <label for="tok-role">Role</label>
        <select id="tok-role" name="role">
          <option value="viewer">viewer</option>
          <option value="deployer">deployer</option>
          <option value="owner">owner</option>
        </select>
        <label for="tok-projects">Projects (comma-separated, empty = all)</label>
        <input id="tok-projects" name="projects" />
        <button type="submit">Create token</button>
      </form>

      <h2>Audit log</h2>
      <form
        class="inline"
        onSubmit={(ev) => {
          ev.preventDefault();
          setActor(((ev.currentTarget as HTMLFormElement).elements.namedItem("actor") as HTMLInputElement).value.trim());
        }}
      >
        <label for="audit-actor">Actor</label>
        <input id="audit-actor" name="actor" type="search" />
        <button type="submit">Filter</button>
      </form>
      <Table label="Audit log">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">Status</th>
            <th scope="col">From</th>
          </tr>
        </thead>
        <tbody>
          {[...audit].reverse().map((a) => (
            <tr key={a.seq} class="audit">
              <td>
                <When at={a.at} />
              </td>
              <td>{a.actor}</td>
              <td>
                <code>{a.action}</code>
              </td>
              <td>
                <code>{a.target}</code>
              </td>
              <td>{a.status}</td>
              <td>{a.address}</td>
            </tr>
          ))}
        </tbody>
      </Table>
    </>
  );
}
