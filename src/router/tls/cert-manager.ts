/**
 * Keeps every TLS host of the route table supplied with a valid certificate: plans purely which
 * hosts need one (missing, or past 2/3 of the lifetime), then issues through ACME or the internal
 * CA and hands each result to the router, which loads it without a reload.
 */
import type { Clock } from "../../core/clock.ts";
import { BerthError } from "../../core/errors.ts";
import type { EventSink } from "../../core/events.ts";
import type { HostTls } from "../routes.ts";
import type { AcmeIssuer } from "./acme.ts";
import { type BudgetPolicy, decideBudget, type IssuanceLedger, letsEncryptBudget } from "./budget.ts";
import { haproxyPem, type InternalCa, type IssuedCert } from "./internal-ca.ts";

export interface Validity {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface CertTask {
  readonly domain: string;
  readonly issuer: "acme" | "internal";
  readonly reason: "missing" | "renew";
}

/** When a certificate is renewed: at 2/3 of its lifetime (Let's Encrypt's own advice). */
export function renewAtMs(v: Validity): number {
  const from = v.notBefore.getTime();
  return from + ((v.notAfter.getTime() - from) * 2) / 3;
}

/**
 * When a certificate is called expiring: 1/6 of its lifetime left (15 days of a 90-day one). Renewal
 * starts at 2/3, so by then renewals have been failing for a sixth of the lifetime.
 */
export function expiringAtMs(v: Validity): number {
  const to = v.notAfter.getTime();
  return to - (to - v.notBefore.getTime()) / 6;
}

export interface ExpiringCert {
  readonly domain: string;
  readonly notAfter: Date;
  /** Negative once it has expired. */
  readonly remainingMs: number;
}

/** Pure: the stored certificates of TLS hosts still in the table that are expiring at `nowMs`. */
export function planExpiring(hosts: readonly HostTls[], stored: ReadonlyMap<string, Validity>, nowMs: number): ExpiringCert[] {
  const out: ExpiringCert[] = [];
  for (const h of hosts) {
    const v = h.tls.kind === "none" ? undefined : stored.get(h.host);
    if (v && nowMs >= expiringAtMs(v)) out.push({ domain: h.host, notAfter: v.notAfter, remainingMs: v.notAfter.getTime() - nowMs });
  }
  return out;
}

/** Pure: which hosts need a certificate now. */
export function planCertificates(hosts: readonly HostTls[], stored: ReadonlyMap<string, Validity>, nowMs: number): CertTask[] {
  const tasks: CertTask[] = [];
  for (const h of hosts) {
    if (h.tls.kind === "none") continue;
    const v = stored.get(h.host);
    if (!v) tasks.push({ domain: h.host, issuer: h.tls.kind, reason: "missing" });
    else if (nowMs >= renewAtMs(v)) tasks.push({ domain: h.host, issuer: h.tls.kind, reason: "renew" });
  }
  return tasks;
}

export interface CertManagerDeps {
  readonly clock: Clock;
  readonly ca: InternalCa;
  /** Absent: ACME is off; ACME hosts are skipped (see `CertRunResult.skipped`). */
  readonly acme?: AcmeIssuer;
  readonly ledger: IssuanceLedger;
  readonly budget?: BudgetPolicy;
  /** Validity of the stored certificate of a domain. */
  readonly stored: (domain: string) => Promise<Validity | undefined>;
  /** Stores and loads a certificate (PEM chain + key). */
  readonly install: (domain: string, pem: string) => Promise<void>;
  readonly events?: EventSink;
}

export interface CertRunResult {
  readonly issued: readonly CertTask[];
  readonly failed: ReadonlyArray<{ readonly task: CertTask; readonly error: BerthError }>;
  /** ACME tasks left alone because no ACME issuer is configured (ACME is off): the caller reports them. */
  readonly skipped: readonly CertTask[];
}

export class CertManager {
  readonly #d: CertManagerDeps;

  constructor(deps: CertManagerDeps) {
    this.#d = deps;
  }

  /**
   * Issues what is missing or due; one failing domain does not stop the others. An aborted
   * `signal` (the daemon stopping) leaves the tasks not yet started for the next run.
   */
  async ensure(hosts: readonly HostTls[], options: { signal?: AbortSignal } = {}): Promise<CertRunResult> {
    const stored = await this.#storedOf(hosts);
    const issued: CertTask[] = [];
    const failed: Array<{ task: CertTask; error: BerthError }> = [];
    const skipped: CertTask[] = [];
    for (const task of planCertificates(hosts, stored, this.#d.clock.now())) {
      if (options.signal?.aborted) break;
      const acme = task.issuer === "acme" ? this.#d.acme : undefined;
      if (task.issuer === "acme" && !acme) {
        skipped.push(task);
        continue;
      }
      try {
        const cert = acme ? await this.#issueAcme(task.domain, acme) : await this.#d.ca.issue(task.domain);
        await this.#d.install(task.domain, haproxyPem(cert));
        this.#d.events?.emit({ type: "router:cert-issued", data: { domain: task.domain, issuer: task.issuer, notAfter: cert.notAfter.toISOString() } });
        issued.push(task);
      } catch (e) {
        const error = e instanceof BerthError ? e : new BerthError("BERTH_ROUTER_CERT_FAILED", { domain: task.domain, detail: String(e) }, { cause: e });
        this.#d.events?.emit({ type: "router:cert-failed", data: { domain: task.domain, detail: error.message } });
        failed.push({ task, error });
      }
    }
    return { issued, failed, skipped };
  }

  /** The stored certificates of `hosts` that are expiring now (read them after `ensure`). */
  async expiring(hosts: readonly HostTls[]): Promise<ExpiringCert[]> {
    return planExpiring(hosts, await this.#storedOf(hosts), this.#d.clock.now());
  }

  async #storedOf(hosts: readonly HostTls[]): Promise<Map<string, Validity>> {
    const stored = new Map<string, Validity>();
    for (const h of hosts) {
      const v = h.tls.kind === "none" ? undefined : await this.#d.stored(h.host);
      if (v) stored.set(h.host, v);
    }
    return stored;
  }

  async #issueAcme(domain: string, acme: AcmeIssuer): Promise<IssuedCert> {
    const policy = this.#d.budget ?? letsEncryptBudget;
    const now = this.#d.clock.now();
    const decision = decideBudget(this.#d.ledger.history, domain, now, policy);
    if (!decision.allowed) {
      throw new BerthError("BERTH_ROUTER_CERT_BUDGET", { registeredDomain: decision.registeredDomain, count: decision.count, windowDays: Math.round(policy.windowMs / 86_400_000) });
    }
    if (decision.warn) {
      this.#d.events?.emit({ type: "router:cert-budget-warning", data: { registeredDomain: decision.registeredDomain, count: decision.count + 1, limit: policy.limit } });
    }
    const cert = await acme.issue(domain);
    await this.#d.ledger.record(domain, now);
    return cert;
  }
}
