/** Events of git sources and auto-deploy (issue 5). */
export interface GitEvents {
  /** A branch head moved: pushed to a served repository, or announced by a webhook. */
  "git:push": { project: string; branch: string; commit: string; via: "served" | "webhook" | "api" };
  /** The commit's blueprint was recorded for the environments that follow the branch. */
  "git:synced": { project: string; branch: string; commit: string; environments: string[] };
  "git:sync:failed": { project: string; branch: string; commit: string; reason: string };
  /** A webhook delivery was refused (bad signature, replayed delivery id, unknown project). */
  "git:webhook:rejected": { project: string; delivery: string; reason: string };
}
