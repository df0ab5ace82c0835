/** Events of preview environments per pull request (issue 19). */
export interface PreviewEvents {
  /** A pull request's head is being deployed as `environment` (`created`: a new preview). */
  "preview:deploying": { number: number; environment: string; commit: string; created: boolean };
  "preview:live": { number: number; environment: string; commit: string; urls: string[] };
  /** A fork's pull request: nothing is checked out or deployed until a maintainer approves this head. */
  "preview:awaiting-approval": { number: number; environment: string; commit: string; fork: string };
  "preview:approved": { number: number; environment: string; commit: string };
  /** Over the cap, or previews off: nothing was created. */
  "preview:refused": { number: number; reason: string };
  /** The fork/scrub data step: its outcome (a failure keeps the preview without traffic). */
  "preview:data": { number: number; environment: string; mode: string; ok: boolean; detail: string; rows?: number };
  "preview:failed": { number: number; environment: string; reason: string };
  "preview:destroyed": { number: number; environment: string; reason: string; removed: string[] };
  /** A commit status could not be posted to the forge (the preview itself is unaffected). */
  "preview:status:failed": { number: number; commit: string; reason: string };
}
