/**
 * A hash router: the daemon serves one index.html, so every view lives after `#` and needs no
 * server fallback. Routes are a tagged union parsed from the hash; `href` builds them back.
 */
import { useEffect, useState } from "preact/hooks";

export type Route =
  | { readonly page: "overview" }
  | { readonly page: "access" }
  | { readonly page: "environment"; readonly project: string; readonly environment: string }
  | { readonly page: "service"; readonly project: string; readonly environment: string; readonly service: string }
  | { readonly page: "cron"; readonly project: string; readonly environment: string }
  | { readonly page: "databases"; readonly project: string; readonly environment: string }
  | { readonly page: "secrets"; readonly project: string; readonly environment: string };

/** Parses `#/...` into a route; anything unknown is the overview. */
export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const [page, project, environment, service] = parts;
  if (page === "access") return { page: "access" };
  if (!project || !environment) return { page: "overview" };
  if (page === "env") return { page: "environment", project, environment };
  if (page === "cron") return { page: "cron", project, environment };
  if (page === "db") return { page: "databases", project, environment };
  if (page === "secrets") return { page: "secrets", project, environment };
  if (page === "svc" && service) return { page: "service", project, environment, service };
  return { page: "overview" };
}

/** The hash of a route. */
export function href(r: Route): string {
  const e = encodeURIComponent;
  switch (r.page) {
    case "overview":
      return "#/";
    case "access":
      return "#/access";
    case "environment":
      return `#/env/${e(r.project)}/${e(r.environment)}`;
    case "service":
      return `#/svc/${e(r.project)}/${e(r.environment)}/${e(r.service)}`;
    case "cron":
      return `#/cron/${e(r.project)}/${e(r.environment)}`;
    case "databases":
      return `#/db/${e(r.project)}/${e(r.environment)}`;
    case "secrets":
      return `#/secrets/${e(r.project)}/${e(r.environment)}`;
  }
}

/** The current route, following hash changes. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}
