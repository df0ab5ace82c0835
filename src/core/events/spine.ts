/** Events of the control-plane spine. */
export interface SpineEvents {
  "daemon:started": { version: string; listen: string; dataDir: string };
  "daemon:stopping": { reason: string };
  "token:created": { name: string; role: string };
  "token:revoked": { name: string };
  "auth:rejected": { route: string; reason: string; address: string };
  "project:synced": { project: string; environment: string; generation: number; services: number };
  "environment:removed": { environment: string };
  "reconcile:started": { environment: string; generation: number };
  "reconcile:step": { environment: string; step: string; target: string; reason: string; ms: number };
  "reconcile:done": { environment: string; generation: number; steps: number; ms: number };
  "reconcile:failed": { environment: string; step: string; reason: string; retryInMs: number };
}
