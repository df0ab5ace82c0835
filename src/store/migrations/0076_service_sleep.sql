-- Issue 19 (deliverable 5): services that sleep when idle and wake on the first request.
-- `sleep_after_ms`: the blueprint's `sleepAfter` (previews: `previews.sleepAfter`, default 30m);
-- NULL: never sleeps. `asleep_since`: desired state "asleep" (the reconciler runs it with no
-- instances; its backend keeps a waker); NULL: awake. Both survive a daemon restart.
ALTER TABLE services ADD COLUMN sleep_after_ms INTEGER;
ALTER TABLE services ADD COLUMN asleep_since TEXT;
