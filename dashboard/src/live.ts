/**
 * Data that stays current without polling: a resource is fetched once, then re-fetched when an
 * event it cares about arrives on the stream — coalesced, so a burst of events costs one request.
 */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { type BerthEvent, onEvent } from "./api.ts";

/** Wait after an event before re-fetching: a rollout's burst of events becomes one request. */
const COALESCE_MS = 250;

export interface Live<T> {
  readonly data: T | undefined;
  readonly error: Error | undefined;
  readonly reload: () => void;
}

/** Fetches `load()`; re-fetches when `refreshOn(event)` is true, or when `key` changes. */
export function useLive<T>(load: () => Promise<T>, key: string, refreshOn: (e: BerthEvent) => boolean): Live<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const loadRef = useRef(load);
  loadRef.current = load;
  const filterRef = useRef(refreshOn);
  filterRef.current = refreshOn;
  const reload = useCallback(() => {
    loadRef.current().then(
      (d) => {
        setData(d);
        setError(undefined);
      },
      (e: Error) => setError(e),
    );
  }, []);
  useEffect(() => {
    setData(undefined);
    reload();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const off = onEvent((e) => {
      if (!filterRef.current(e) || timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        reload();
      }, COALESCE_MS);
    });
    return () => {
      off();
      if (timer) clearTimeout(timer);
    };
  }, [key, reload]);
  return { data, error, reload };
}

/** True for events about this project and environment (and service, when given). */
export const inScope =
  (project: string, environment: string, service?: string) =>
  (e: BerthEvent): boolean =>
    e.scope.project === project && e.scope.environment === environment && (service === undefined || e.scope.service === service);
