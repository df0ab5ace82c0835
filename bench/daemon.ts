/** What the daemon benches share: waiting for `berth server` to write its credentials file. */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** The daemon's URL and token, once it has written `path` (30 s at most). */
export async function daemonCredentials(path: string): Promise<{ url: string; token: string }> {
  for (let i = 0; i < 300; i++) {
    await sleep(100);
    try {
      return JSON.parse(readFileSync(path, "utf8")) as { url: string; token: string };
    } catch {}
  }
  throw new Error("daemon did not start");
}
