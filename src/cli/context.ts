/**
 * What every command gets: a way to reach the daemon. Resolved lazily so local commands
 * (validate, import, schema) work without one.
 */
import { ApiClient, configuredCredentials } from "./client.ts";
import { BerthError } from "../core/errors.ts";

export interface CliContext {
  /** The API client for the configured daemon, or a clear error saying how to configure one. */
  client(): ApiClient;
}

export function defaultContext(): CliContext {
  return {
    client() {
      const creds = configuredCredentials();
      if (!creds) throw new BerthError("BERTH_DAEMON_UNREACHABLE", { url: "(none configured)", detail: "no BERTH_URL/BERTH_TOKEN and no `berth login` yet" });
      return new ApiClient(creds);
    },
  };
}
