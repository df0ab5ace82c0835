/** Events of recorded operations (issue 15): one per state transition, plus progress. */
interface OperationRef {
  operation: string;
  kind: string;
  key: string;
}

export interface OperationEvents {
  "operation:queued": OperationRef;
  "operation:started": OperationRef & { attempt: number };
  "operation:progress": OperationRef & { step: string; detail: string; done?: number; total?: number };
  "operation:succeeded": OperationRef & { ms: number };
  "operation:failed": OperationRef & { code: string; reason: string; ms: number };
  "operation:cancelled": OperationRef & { reason: string };
  /** A daemon stopped (or was killed) while it ran; it is carried out again from the start. */
  "operation:resumed": OperationRef & { attempt: number; reason: string };
}
