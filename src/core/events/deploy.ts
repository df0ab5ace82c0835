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
}
