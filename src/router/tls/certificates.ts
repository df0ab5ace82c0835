/**
 * The daemon's certificates (made only when the router has an HTTPS listener): after every change
 * of the route table's TLS hosts and once an hour, the CertManager issues what those hosts lack or
 * must renew — ACME for public names, the internal CA for local ones — and then the stored
 * certificates of hosts still routed that are running out are reported (`router:cert-expiring`).
 *
 * Runs are serialized: never two at once, and any number of requests made during a run lead to
 * exactly one more. A run after a request finds the table's TLS hosts unchanged does nothing: the
 * daemon refreshes its routes on every reconcile, and a failing domain must not be retried against
 * the CA that often (Let's Encrypt allows 5 failed validations per host and hour); the hourly run
 * retries it. Failures are events, never exceptions.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Clock } from "../../core/clock.ts";
import type { EventSink } from "../../core/events.ts";
import type { Router } from "../router.ts";
import type { HostTls } from "../routes.ts";
import { AcmeIssuer } from "./acme.ts";
import { IssuanceLedger } from "./budget.ts";
import { CertManager, type CertTask, type ExpiringCert } from "./cert-manager.ts";

/** Where ACME certificates come from (absent in the options: ACME is off). */
export interface AcmeSettings {
  readonly directoryUrl: string;
  readonly email?: string;
  /** PEM trusted for the directory's HTTPS (a test CA such as pebble's). */
  readonly trustedCaPem?: string;
}

export interface CertificatesOptions {
  /** Its state dir holds the certificates, the issuance ledger and the ACME account key. */
  readonly router: Router;
  /** Absent: ACME is off; each ACME host is reported once and keeps the certificate it has. */
  readonly acme?: AcmeSettings;
  readonly clock: Clock;
  readonly events: EventSink;
  /** The periodic run (renewals, retries, expiry reports). Default one hour. */
  readonly intervalMs?: number;
  /** A run that failed outside any one domain (a certificate file unreadable); the next run retries. */
  readonly onError?: (error: unknown) => void;
}

/** The TLS hosts a run works for, as one comparable string (the table's hosts are sorted). */
const tlsHostsKey = (hosts: readonly HostTls[]): string =>
  hosts
    .filter((h) => h.tls.kind !== "none")
    .map((h) => `${h.host} ${h.tls.kind}`)
    .join("\n");

export class Certificates {
  readonly #o: CertificatesOptions;
  readonly #manager: CertManager;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #again = false;
  #periodic = true;
  #stopped = false;
  #lastKey: string | undefined;
  /** ACME hosts reported while ACME is off, and expiring certificates reported (domain + notAfter). */
  #reportedOff = new Set<string>();
  #reportedExpiring = new Set<string>();
  #runs = 0;

  constructor(options: CertificatesOptions) {
    this.#o = options;
    const { router, acme } = options;
    this.#manager = new CertManager({
      clock: options.clock,
      ca: router.ca,
      ...(acme
        ? {
            acme: new AcmeIssuer({
              directoryUrl: acme.directoryUrl,
              ...(acme.email ? { email: acme.email } : {}),
              accountKeyPath: join(router.options.stateDir, "acme", "account.key"),
              challenges: router.challenges,
              ...(acme.trustedCaPem ? { trustedCaPem: acme.trustedCaPem } : {}),
            }),
          }
        : {}),
      ledger: new IssuanceLedger(join(router.certs.dir, "issuance.jsonl")),
      stored: (domain) => router.certs.validity(domain),
      install: (domain, pem) => router.installCertificate(domain, pem),
      events: options.events,
    });
  }

  /** Passes made so far (including those that found nothing to do): diagnostics and tests. */
  get runs(): number {
    return this.#runs;
  }

  /** Starts the hourly run and runs once for the table the router has now. */
  async start(): Promise<void> {
    await mkdir(this.#o.router.certs.dir, { recursive: true, mode: 0o700 }); // the ledger's home
    this.#timer = setInterval(() => {
      this.#periodic = true;
      this.request();
    }, this.#o.intervalMs ?? 3_600_000);
    this.#timer.unref();
    this.request();
  }

  /** Asks for a run (the route table changed); coalesces with any run already asked for. */
  request(): void {
    if (this.#stopped) return;
    if (this.#inFlight) {
      this.#again = true;
      return;
    }
    this.#inFlight = this.#loop();
  }

  /** Resolves when no run is in flight or asked for. */
  async whenIdle(): Promise<void> {
    await this.#inFlight;
  }

  /** Cancels the timer and waits for the run in flight (it starts no further issuance). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#abort.abort();
    await this.#inFlight;
  }

  async #loop(): Promise<void> {
    try {
      do {
        this.#again = false;
        try {
          await this.#run();
        } catch (e) {
          this.#o.onError?.(e);
        }
        this.#runs++;
      } while (this.#again && !this.#stopped);
    } finally {
      this.#inFlight = undefined;
    }
  }

  async #run(): Promise<void> {
    const hosts = this.#o.router.table.hosts;
    const key = tlsHostsKey(hosts);
    const periodic = this.#periodic;
    if (!periodic && key === this.#lastKey) return;
    this.#periodic = false;
    this.#lastKey = key;
    const result = await this.#manager.ensure(hosts, { signal: this.#abort.signal });
    this.#reportAcmeOff(result.skipped);
    if (this.#abort.signal.aborted) return;
    this.#reportExpiring(await this.#manager.expiring(hosts), periodic);
  }

  /**
   * One `router:cert-skipped` per ACME host while ACME is off (again if it leaves and comes back):
   * the operator chose it, so it is said, not alerted (a certificate running out still alerts).
   */
  #reportAcmeOff(skipped: readonly CertTask[]): void {
    const now = new Set(skipped.map((t) => t.domain));
    for (const domain of now) {
      if (this.#reportedOff.has(domain)) continue;
      this.#o.events.emit({ type: "router:cert-skipped", data: { domain, reason: "ACME is off (BERTH_ACME_DIRECTORY=off): no certificate is requested, the host keeps the one it has" } });
    }
    this.#reportedOff = now;
  }

  /** Each expiring certificate when first seen, then once per periodic run while it lasts. */
  #reportExpiring(expiring: readonly ExpiringCert[], periodic: boolean): void {
    const now = new Set<string>();
    for (const c of expiring) {
      const id = `${c.domain} ${c.notAfter.toISOString()}`;
      now.add(id);
      if (!periodic && this.#reportedExpiring.has(id)) continue;
      this.#o.events.emit({ type: "router:cert-expiring", data: { domain: c.domain, notAfter: c.notAfter.toISOString(), remainingMs: c.remainingMs } });
    }
    this.#reportedExpiring = now;
  }
}
