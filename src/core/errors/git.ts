import { defineErrors } from "./spec.ts";

/** Errors of git sources, the served repositories and the push webhook (issue 5). */
export const gitErrors = defineErrors({
  BERTH_GIT_REF_INVALID: {
    message: "'{ref}' is not a valid git {kind}",
    hint: "Use a branch name like main or release/1.2 (letters, digits, . _ / -), or a full 40-character commit sha.",
    http: 400,
    exit: 2,
  },
  BERTH_GIT_URL_INVALID: {
    message: "'{url}' is not a git repository location Berth accepts",
    hint: "Use an https://, ssh://, git:// or file:// URL, user@host:path, or an absolute path on the daemon's host.",
    http: 400,
    exit: 2,
  },
  BERTH_GIT_FAILED: {
    message: "git {step} failed: {detail}",
    hint: "Check that the repository is reachable from the daemon's host and that the branch or commit exists.",
    http: 422,
    exit: 1,
  },
  BERTH_GIT_NOT_FOLLOWED: {
    message: "project {project} does not follow a git repository",
    hint: "Point it at one first: `berth git remote --project {project}` (served repository) or `--url <repository>`.",
    http: 409,
    exit: 5,
  },
  BERTH_GIT_BLUEPRINT_MISSING: {
    message: "commit {commit} has no berth.yaml at the repository root",
    hint: "Commit a berth.yaml at the root of the repository and push again.",
    http: 422,
    exit: 1,
  },
  BERTH_WEBHOOK_REJECTED: {
    message: "webhook delivery refused: {reason}",
    hint: "Set the same secret in the repository's webhook settings as `berth git webhook-secret` printed; GitHub signs each delivery with it (X-Hub-Signature-256).",
    http: 401,
    exit: 3,
  },
});
