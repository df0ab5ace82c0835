/** Events reported by engines about instances and tasks. */
export interface EngineEvents {
  "instance:started": { instance: string; release: number; pid?: number; port?: number };
  "instance:healthy": { instance: string };
  "instance:unhealthy": { instance: string; reason: string };
  "instance:exited": { instance: string; code: number | null; signal: string | null; oom: boolean };
  "instance:oom": { instance: string; limitBytes: number };
  "instance:restarting": { instance: string; attempt: number; delayMs: number };
  "instance:crash-looping": { instance: string; failures: number; windowMs: number };
  "instance:stopped": { instance: string };
  "instance:adopted": { instance: string; pid: number };
  "task:started": { task: string; kind: string };
  "task:finished": { task: string; kind: string; exitCode: number | null; ms: number };
  /** Restarting stopped for good (policy never, or on-failure retries used up). */
  "instance:failed": { instance: string; reason: string };
  "engine:warning": { message: string };
}
