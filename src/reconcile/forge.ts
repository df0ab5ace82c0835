/**
 * Issue 19: commit statuses back to the forge, in GitHub's API shape
 * (`POST {api}/repos/{owner}/{repo}/statuses/{sha}`). The project's forge settings live in the
 * secret store (owner `group:berth-forge`, never injected into a service): the API base URL
 * (default https://api.github.com; GitHub Enterprise or a test's fake forge otherwise) and a token
 * allowed to write statuses.
 */
import type { CommitStatus } from "../deploy/previews.ts";
import type { SecretOwner } from "../secrets/ports.ts";

export const FORGE_OWNER = "group:berth-forge" as SecretOwner;
export const FORGE_TOKEN = "GITHUB_TOKEN";
export const FORGE_API_URL = "GITHUB_API_URL";
export const DEFAULT_FORGE_API = "https://api.github.com";

export interface ForgeSettings {
  readonly apiUrl: string;
  readonly token: string;
}

const REPO = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;

/** The request a status becomes (pure: tests assert it without a network). */
export function statusRequest(forge: ForgeSettings, repo: string, sha: string, status: CommitStatus): { url: string; init: RequestInit } {
  if (!REPO.test(repo)) throw new Error(`'${repo}' is not an owner/name repository`);
  if (!/^[0-9a-f]{40}$/.test(sha)) throw new Error(`'${sha}' is not a commit`);
  const [owner, name] = repo.split("/") as [string, string];
  return {
    url: `${forge.apiUrl.replace(/\/+$/, "")}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}/statuses/${sha}`,
    init: {
      method: "POST",
      headers: { accept: "application/vnd.github+json", authorization: `Bearer ${forge.token}`, "content-type": "application/json", "user-agent": "berth", "x-github-api-version": "2022-11-28" },
      body: JSON.stringify(status),
    },
  };
}

/** Posts a status; throws with the forge's answer when it is not a 2xx (10 s deadline). */
export async function postStatus(forge: ForgeSettings, repo: string, sha: string, status: CommitStatus): Promise<void> {
  const { url, init } = statusRequest(forge, repo, sha, status);
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${res.status} from ${new URL(url).host}: ${(await res.text()).slice(0, 200)}`);
}
