/** Events of a control plane that never breaks a running stack (issue 15). */
export interface ControlEvents {
  /** A restarted daemon took over the HAProxy its data dir's router left running. */
  "router:adopted": { pid: number; worker: number; slots: number };
  /** HAProxy masters of this data dir that no pid file accounted for were stopped. */
  "router:strays-stopped": { pids: number[] };
  /** Unfinished work a killed daemon left (half-written build/checkout dirs, their processes) was removed at start. */
  "daemon:leftovers-removed": { dirs: string[]; pids: number[] };
  /** A large sync is being applied in batches (progress of an environment's reconcile). */
  "reconcile:progress": { environment: string; done: number; total: number };
}
