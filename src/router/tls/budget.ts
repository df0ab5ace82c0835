/**
 * An issuance budget per registered domain, so a misconfigured blueprint cannot burn through
 * the CA's rate limit (Let's Encrypt: 50 certificates per registered domain per 7 days). Kept
 * as an append-only JSON-lines file next to the certificates; the decision itself is pure.
 */
import { existsSync, readFileSync } from "node:fs";
import { appendFile } from "node:fs/promises";

export interface BudgetPolicy {
  readonly limit: number;
  readonly windowMs: number;
  /** Fraction of the limit from which each issuance warns. */
  readonly warnFraction: number;
}

export const letsEncryptBudget: BudgetPolicy = Object.freeze({ limit: 50, windowMs: 7 * 86_400_000, warnFraction: 0.8 });

// Public suffixes with two labels that are common enough to matter; others fall back to the last two labels.
const TWO_LABEL_SUFFIXES = new Set(["co.uk", "org.uk", "ac.uk", "com.au", "net.au", "co.nz", "co.jp", "com.br", "co.in", "co.za", "com.mx"]);

/** `a.b.example.co.uk` -> `example.co.uk`; `api.example.com` -> `example.com`. */
export function registeredDomain(domain: string): string {
  const labels = domain.toLowerCase().split(".");
  const lastTwo = labels.slice(-2).join(".");
  return TWO_LABEL_SUFFIXES.has(lastTwo) ? labels.slice(-3).join(".") : lastTwo;
}

export interface BudgetDecision {
  readonly registeredDomain: string;
  readonly allowed: boolean;
  readonly warn: boolean;
  /** Issuances inside the window before this one. */
  readonly count: number;
}

/** Pure: may one more certificate for `domain` be issued at `nowMs`, given past issuances? */
export function decideBudget(history: readonly { domain: string; atMs: number }[], domain: string, nowMs: number, policy: BudgetPolicy): BudgetDecision {
  const reg = registeredDomain(domain);
  const count = history.filter((h) => registeredDomain(h.domain) === reg && nowMs - h.atMs < policy.windowMs).length;
  return { registeredDomain: reg, allowed: count < policy.limit, warn: count + 1 >= Math.ceil(policy.limit * policy.warnFraction), count };
}

export class IssuanceLedger {
  readonly path: string;
  readonly #history: Array<{ domain: string; atMs: number }> = [];

  constructor(path: string) {
    this.path = path;
    if (existsSync(path)) {
      for (const line of readFileSync(path, "utf8").split("\n")) {
        if (!line.trim()) continue;
        const v = JSON.parse(line) as { domain?: unknown; atMs?: unknown };
        if (typeof v.domain === "string" && typeof v.atMs === "number") this.#history.push({ domain: v.domain, atMs: v.atMs });
      }
    }
  }

  get history(): readonly { domain: string; atMs: number }[] {
    return this.#history;
  }

  async record(domain: string, atMs: number): Promise<void> {
    this.#history.push({ domain, atMs });
    await appendFile(this.path, `${JSON.stringify({ domain, atMs })}\n`, { mode: 0o600 });
  }
}
