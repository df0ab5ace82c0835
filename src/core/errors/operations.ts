import { defineErrors } from "./spec.ts";

/** Errors of recorded operations (issue 15). */
export const operationErrors = defineErrors({
  BERTH_OPERATION_INTERRUPTED: {
    message: "operation {operation} ({kind}) was interrupted: {detail}",
    hint: "Nothing was left half-applied; run it again (the same command) when the cause is fixed.",
    http: 409,
    exit: 1,
  },
  BERTH_OPERATION_UNKNOWN_KIND: {
    message: "operation {operation} is of kind '{kind}', which this daemon cannot carry out",
    hint: "It was recorded by another Berth version; run the command again with this one.",
    http: 500,
    exit: 1,
  },
  BERTH_OPERATION_CANCELLED: {
    message: "operation {operation} ({kind}) was cancelled by {actor}",
    hint: "Run the command again to start a new one.",
    http: 409,
    exit: 1,
  },
  BERTH_OPERATION_FINISHED: {
    message: "operation {operation} already finished ({state})",
    hint: "Only pending or running operations can be cancelled; `berth operations` lists them.",
    http: 409,
    exit: 5,
  },
  BERTH_OPERATION_FAILED: {
    message: "operation {operation} ({kind}) failed: {detail}",
    hint: "`berth operation {operation}` shows its progress and error; `berth events` has the details.",
    http: 500,
    exit: 1,
  },
});
