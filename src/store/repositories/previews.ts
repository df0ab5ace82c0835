/**
 * Rows of the `previews` table (issue 19): one per pull request (or served branch) of a project.
 * Parsed back with zod, so a row edited by hand or written by another version fails loudly here.
 */
import { z } from "zod";
import { newId } from "../../core/ids.ts";
import type { Db } from "../db.ts";
import { toJson } from "../db.ts";

/** The states a preview row moves through (docs/design/previews.md). */
export const PREVIEW_STATES = ["awaiting-approval", "deploying", "live", "data-failed", "failed", "destroying", "destroyed"] as const;
export type PreviewState = (typeof PREVIEW_STATES)[number];

/** States that hold a slot of the project's cap (`previews.maxPreviews`). */
export const ACTIVE_STATES: readonly PreviewState[] = ["awaiting-approval", "deploying", "live", "data-failed", "failed"];

const Raw = z.object({
  id: z.string(),
  project: z.string(),
  number: z.number().int(),
  environment: z.string(),
  source: z.enum(["github", "served"]),
  branch: z.string(),
  head_sha: z.string(),
  head_repo: z.string(),
  base_repo: z.string(),
  state: z.enum(PREVIEW_STATES),
  detail: z.string().nullable(),
  approved_sha: z.string().nullable(),
  approved_by: z.string().nullable(),
  data_state: z.enum(["none", "ready", "failed"]),
  unset_secrets: z.string().transform((t) => z.array(z.string()).parse(JSON.parse(t))),
  opened_by: z.string(),
  last_push_at: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});

export interface PreviewRow {
  readonly id: string;
  readonly project: string;
  readonly number: number;
  readonly environment: string;
  readonly source: "github" | "served";
  readonly branch: string;
  readonly headSha: string;
  readonly headRepo: string;
  readonly baseRepo: string;
  readonly state: PreviewState;
  readonly detail: string | null;
  readonly approvedSha: string | null;
  readonly approvedBy: string | null;
  readonly dataState: "none" | "ready" | "failed";
  readonly unsetSecrets: readonly string[];
  readonly openedBy: string;
  readonly lastPushAt: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

function toRow(raw: unknown): PreviewRow {
  const r = Raw.parse(raw);
  return {
    id: r.id,
    project: r.project,
    number: r.number,
    environment: r.environment,
    source: r.source,
    branch: r.branch,
    headSha: r.head_sha,
    headRepo: r.head_repo,
    baseRepo: r.base_repo,
    state: r.state,
    detail: r.detail,
    approvedSha: r.approved_sha,
    approvedBy: r.approved_by,
    dataState: r.data_state,
    unsetSecrets: r.unset_secrets,
    openedBy: r.opened_by,
    lastPushAt: r.last_push_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** What a pull request or branch push says about a preview's head (the rest is the preview's own state). */
export type PreviewHead = Pick<PreviewRow, "project" | "number" | "environment" | "source" | "branch" | "headSha" | "headRepo" | "baseRepo" | "openedBy">;

export class PreviewRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  byNumber(project: string, number: number): PreviewRow | undefined {
    const r = this.#db.sql.prepare("SELECT * FROM previews WHERE project = ? AND number = ?").get(project, number);
    return r ? toRow(r) : undefined;
  }

  byBranch(project: string, source: "served", branch: string): PreviewRow | undefined {
    const r = this.#db.sql.prepare("SELECT * FROM previews WHERE project = ? AND source = ? AND branch = ? ORDER BY number DESC LIMIT 1").get(project, source, branch);
    return r ? toRow(r) : undefined;
  }

  /** Newest first; `active` narrows to previews holding a slot of the cap. */
  list(q: { project?: string; active?: boolean; projects?: readonly string[] } = {}): PreviewRow[] {
    const where: string[] = [];
    const args: string[] = [];
    if (q.project !== undefined) {
      where.push("project = ?");
      args.push(q.project);
    }
    if (q.active) where.push(`state IN (${ACTIVE_STATES.map((s) => `'${s}'`).join(", ")})`);
    if (q.projects) {
      where.push(q.projects.length ? `project IN (${q.projects.map(() => "?").join(", ")})` : "0");
      args.push(...q.projects);
    }
    return this.#db.sql.prepare(`SELECT * FROM previews${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, number DESC`).all(...args).map(toRow);
  }

  /** The next number Berth gives a served branch's preview (after every number the project used). */
  nextNumber(project: string): number {
    const r = this.#db.sql.prepare("SELECT COALESCE(MAX(number), 0) + 1 AS n FROM previews WHERE project = ?").get(project) as { n: number };
    return r.n;
  }

  /**
   * Records a new head for the pull request (a new row, or an existing one reopened/pushed):
   * `state` is where it goes now. Approval of an earlier head does not carry over (approved_sha
   * stays, and only matches that commit).
   */
  upsertHead(head: PreviewHead, state: PreviewState, detail: string | null, now: string): PreviewRow {
    this.#db.sql
      .prepare(
        `INSERT INTO previews (id, project, number, environment, source, branch, head_sha, head_repo, base_repo, state, detail, opened_by, last_push_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (project, number) DO UPDATE SET branch = excluded.branch, head_sha = excluded.head_sha, head_repo = excluded.head_repo,
           base_repo = excluded.base_repo, state = excluded.state, detail = excluded.detail, last_push_at = excluded.last_push_at, updated_at = excluded.updated_at,
           data_state = CASE WHEN previews.state = 'destroyed' THEN 'none' ELSE previews.data_state END,
           created_at = CASE WHEN previews.state = 'destroyed' THEN excluded.created_at ELSE previews.created_at END`,
      )
      .run(newId("prv"), head.project, head.number, head.environment, head.source, head.branch, head.headSha, head.headRepo, head.baseRepo, state, detail, head.openedBy, now, now, now);
    return this.byNumber(head.project, head.number)!;
  }

  setState(id: string, state: PreviewState, detail: string | null, now: string): void {
    this.#db.sql.prepare("UPDATE previews SET state = ?, detail = ?, updated_at = ? WHERE id = ?").run(state, detail, now, id);
  }

  /** The head commit a branch's preview resolved (`berth preview create` records none). */
  setHead(id: string, sha: string, now: string): void {
    this.#db.sql.prepare("UPDATE previews SET head_sha = ?, updated_at = ? WHERE id = ?").run(sha, now, id);
  }

  setData(id: string, dataState: "none" | "ready" | "failed", now: string): void {
    this.#db.sql.prepare("UPDATE previews SET data_state = ?, updated_at = ? WHERE id = ?").run(dataState, now, id);
  }

  setUnsetSecrets(id: string, names: readonly string[], now: string): void {
    this.#db.sql.prepare("UPDATE previews SET unset_secrets = ?, updated_at = ? WHERE id = ?").run(toJson([...names]), now, id);
  }

  /** A maintainer approved this head commit of a fork's pull request. */
  approve(id: string, sha: string, by: string, now: string): void {
    this.#db.sql.prepare("UPDATE previews SET approved_sha = ?, approved_by = ?, updated_at = ? WHERE id = ?").run(sha, by, now, id);
  }
}
