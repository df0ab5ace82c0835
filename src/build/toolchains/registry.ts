/**
 * Version look-ups on the npm registry through `npm view`, so they use exactly the registry,
 * CA and proxy settings builds use (npmrc, NODE_EXTRA_CA_CERTS, HTTPS_PROXY): the build env.
 * Answers are kept for a few minutes in memory (a deploy of ten services asks once) and on disk,
 * so a registry outage does not stop a build whose tools are already in the cache.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BerthError } from "../../core/errors.ts";
import { diagnoseTrust } from "../build-env.ts";
import { capture } from "./capture.ts";

const FRESH_MS = 10 * 60_000;

/** What one look-up runs with: the build's env and signal, and where warnings go. */
export interface LookupContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
  /** Told when a stale answer stands in for a failed look-up. */
  readonly log: (line: string) => void;
}

/** `npm view <spec> <fields> --json`, parsed; the same question within minutes is not asked again. */
export class Registry {
  readonly #memo = new Map<string, { at: number; value: unknown }>();
  readonly #dir: string;
  readonly #now: () => number;
  /** `dir`: where answers are kept between daemon runs. */
  constructor(dir: string, now: () => number = Date.now) {
    this.#dir = dir;
    this.#now = now;
    mkdirSync(dir, { recursive: true });
  }

  async view(spec: string, fields: readonly string[], o: LookupContext): Promise<unknown> {
    const key = [spec, ...fields].join(" ");
    const hit = this.#memo.get(key);
    if (hit && this.#now() - hit.at < FRESH_MS) return hit.value;
    const file = join(this.#dir, `${key.replace(/[^A-Za-z0-9@._-]+/g, "_")}.json`);
    try {
      const out = await capture(["npm", "view", spec, ...fields, "--json"], { env: o.env, timeoutMs: 120_000, signal: o.signal });
      // An empty answer is npm's way of saying "no version matches".
      const value: unknown = out.trim() ? JSON.parse(out) : [];
      this.#memo.set(key, { at: this.#now(), value });
      writeFileSync(`${file}.tmp`, JSON.stringify(value));
      renameSync(`${file}.tmp`, file);
      return value;
    } catch (e) {
      if (o.signal.aborted) throw e;
      const detail = (e as Error).message.split("\n").slice(-3).join(" ");
      const trust = diagnoseTrust(detail.split("\n"), o.env);
      try {
        const stale: unknown = JSON.parse(readFileSync(file, "utf8"));
        o.log(`warning: the registry did not answer for ${spec} (${detail}); using the answer saved earlier`);
        return stale;
      } catch {
        if (trust) {
          const vars = trust.variables.map((v) => `${v.name} (${v.set ? "set" : "not set"})`).join(", ");
          throw new BerthError("BERTH_BUILD_TLS_UNTRUSTED", { step: `npm view ${spec}`, marker: trust.marker, variables: vars }, { cause: e });
        }
        throw new BerthError("BERTH_BUILD_REGISTRY_FAILED", { spec, detail }, { cause: e });
      }
    }
  }

  /** The versions of `pkg` matching `range` (npm answers one string or a list). */
  async versions(pkg: string, range: string, o: LookupContext): Promise<string[]> {
    const v = await this.view(`${pkg}@${range}`, ["version"], o);
    return Array.isArray(v) ? v.map(String) : typeof v === "string" ? [v] : [];
  }
}
