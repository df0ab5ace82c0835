import { defineErrors } from "./spec.ts";

/** Errors of preview environments per pull request (issue 19, deliverables 2-5). */
export const previewErrors = defineErrors({
  BERTH_PREVIEW_LIMIT: {
    message: "no preview for {what}: {detail}",
    hint: "Close a pull request (its preview is removed), `berth preview destroy <n>`, or raise previews.maxPreviews in berth.yaml.",
    http: 409,
    exit: 5,
  },
  BERTH_PREVIEW_NOT_AWAITING: {
    message: "preview #{number} of {project} is not waiting for approval: {detail}",
    hint: "Only a fork's pull request waits for a maintainer; `berth preview list` shows each preview's state.",
    http: 409,
    exit: 5,
  },
  BERTH_PREVIEW_DATA_FAILED: {
    message: "preview {environment}: the {step} step failed: {detail}",
    hint: "The preview stays without traffic. Fix previews.data in the base branch's berth.yaml (the scrub runs from there, never from the pull request), then push to the pull request again.",
    http: 422,
    exit: 1,
  },
  BERTH_PREVIEWS_OFF: {
    message: "project {project} has no previews: {detail}",
    hint: "Turn them on in berth.yaml: `previews: { mode: automatic }` (one per pull request) or `manual`.",
    http: 409,
    exit: 5,
  },
});
