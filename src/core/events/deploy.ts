/** Events of builds, releases and rollouts. */
export interface DeployEvents {
  "deploy:build:started": { service: string };
  "deploy:build:log": { line: string; stream: string };
  "deploy:release:created": { service: string; release: number; digest: string; ms: number };
  "deploy:started": { deploy: string; service: string; release: number };
  "deploy:step": { deploy: string; service: string; step: string; detail: string; ms: number };
  "deploy:task:log": { run: string; line: string; stream: string };
  "deploy:live": { deploy: string; service: string; release: number };
  "deploy:failed": { deploy: string; service: string; step: string; reason: string };
  "deploy:rollback": { service: string; from: number | null; to: number };
  /** A redeploy of the current release (issue 21, the dashboard's button): `to` is its copy, or null when new inputs were waiting and the retry cuts their release. */
  "deploy:redeploy": { service: string; from: number | null; to: number | null };
}

/** Environments as a workflow (issue 19): deploys held for approval, their decisions, promotions. */
export interface ApprovalEvents {
  /** A deploy to an environment that requires approval was recorded and waits (`via`: sync, push, promote). */
  "deploy:pending": { id: string; environment: string; via: string; summary: string; supersedes: string[] };
  "deploy:superseded": { id: string; environment: string; by: string };
  "deploy:approved": { id: string; environment: string; via: string; generation: number };
  "deploy:rejected": { id: string; environment: string; via: string; reason: string | null };
  /** Services of `from` recorded in `to` with the very artifacts `from` runs. */
  "deploy:promoted": { from: string; to: string; services: { service: string; release: number; digest: string }[]; pending: string | null };
}
