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
}

export class CertManager {
  readonly #d: CertManagerDeps;

  constructor(deps: CertManagerDeps) {
    this.#d = deps;
  }

  /** Issues what is missing or due; one failing domain does not stop the others. */
  async ensure(hosts: readonly HostTls[]): Promise<CertRunResult> {
    const stored = new Map<string, Validity>();
    for (const h of hosts) {
      const v = h.tls.kind === "none" ? undefined : await this.#d.stored(h.host);
      if (v) stored.set(h.host, v);
    }
    const issued: CertTask[] = [];
    const failed: Array<{ task: CertTask; error: BerthError }> = [];
    for (const task of planCertificates(hosts, stored, this.#d.clock.now())) {
      try {
        const cert = await this.#issue(task);
        await this.#d.install(task.domain, haproxyPem(cert));
        this.#d.events?.emit({ type: "router:cert-issued", data: { domain: task.domain, issuer: task.issuer, notAfter: cert.notAfter.toISOString() } });
        issued.push(task);
      } catch (e) {
        const error = e instanceof BerthError ? e : new BerthError("BERTH_ROUTER_CERT_FAILED", { domain: task.domain, detail: String(e) }, { cause: e });
        this.#d.events?.emit({ type: "router:cert-failed", data: { domain: task.domain, detail: error.message } });
        failed.push({ task, error });
      }
    }
    return { issued, failed };
  }

  async #issue(task: CertTask): Promise<IssuedCert> {
    if (task.issuer === "internal") return this.#d.ca.issue(task.domain);
    if (!this.#d.acme) throw new BerthError("BERTH_ROUTER_CERT_FAILED", { domain: task.domain, detail: "no ACME directory configured" });
    const policy = this.#d.budget ?? letsEncryptBudget;
    const now = this.#d.clock.now();
    const decision = decideBudget(this.#d.ledger.history, task.domain, now, policy);
    if (!decision.allowed) {
      throw new BerthError("BERTH_ROUTER_CERT_BUDGET", { registeredDomain: decision.registeredDomain, count: decision.count, windowDays: Math.round(policy.windowMs / 86_400_000) });
    }
    if (decision.warn) {
      this.#d.events?.emit({ type: "router:cert-budget-warning", data: { registeredDomain: decision.registeredDomain, count: decision.count + 1, limit: policy.limit } });
    }
    const cert = await this.#d.acme.issue(task.domain);
    await this.#d.ledger.record(task.domain, now);
    return cert;
  }
}
