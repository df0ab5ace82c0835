/**
 * ACME (RFC 8555) issuance over HTTP-01 with the `acme-client` library: the account key is
 * stored under the router's state dir and reused; challenges are answered by the
 * ChallengeResponder that HAProxy routes `/.well-known/acme-challenge/` to. The library (with
 * axios, node-forge and @peculiar/x509: ~9 MB of heap and ~20 MB of RSS) is loaded on the first
 * issuance, not at daemon start: most daemons issue nothing for months at a time.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { Agent } from "node:https";
import { dirname } from "node:path";
import type * as Acme from "acme-client";
import { BerthError } from "../../core/errors.ts";
import type { ChallengeResponder } from "./challenges.ts";
import { certValidity, type IssuedCert } from "./internal-ca.ts";

export interface AcmeIssuerOptions {
  /** e.g. `https://acme-v02.api.letsencrypt.org/directory`. */
  readonly directoryUrl: string;
  readonly email?: string;
  readonly accountKeyPath: string;
  readonly challenges: ChallengeResponder;
  /**
   * Extra CA to trust for the ACME directory (a test server such as pebble). acme-client keeps one
   * HTTP client per process, so this applies to every issuer in the process.
   */
  readonly trustedCaPem?: string;
}

type AcmeModule = typeof Acme;

let loaded: Promise<AcmeModule> | undefined;
function acmeModule(): Promise<AcmeModule> {
  loaded ??= import("acme-client");
  return loaded;
}

export class AcmeIssuer {
  readonly #o: AcmeIssuerOptions;
  #client: Acme.Client | undefined;

  constructor(options: AcmeIssuerOptions) {
    this.#o = options;
  }

  async #accountClient(acme: AcmeModule): Promise<Acme.Client> {
    if (this.#client) return this.#client;
    if (this.#o.trustedCaPem) acme.axios.defaults.httpsAgent = new Agent({ ca: this.#o.trustedCaPem });
    let key: string;
    if (existsSync(this.#o.accountKeyPath)) {
      key = await readFile(this.#o.accountKeyPath, "utf8");
    } else {
      key = (await acme.crypto.createPrivateEcdsaKey()).toString();
      await mkdir(dirname(this.#o.accountKeyPath), { recursive: true, mode: 0o700 });
      await writeFile(this.#o.accountKeyPath, key, { mode: 0o600 });
    }
    this.#client = new acme.Client({ directoryUrl: this.#o.directoryUrl, accountKey: key, backoffAttempts: 5, backoffMin: 200, backoffMax: 2_000 });
    return this.#client;
  }

  /** Obtains a certificate for `domain` (HTTP-01). Throws BERTH_ROUTER_CERT_FAILED. */
  async issue(domain: string): Promise<IssuedCert> {
    try {
      const acme = await acmeModule();
      const client = await this.#accountClient(acme);
      const [key, csr] = await acme.crypto.createCsr({ commonName: domain, altNames: [domain] }, await acme.crypto.createPrivateEcdsaKey());
      const certPem = await client.auto({
        csr,
        email: this.#o.email,
        termsOfServiceAgreed: true,
        challengePriority: ["http-01"],
        // Our own responder is known to be reachable through HAProxy; the library's self-check
        // would dial port 80 of the public name, which may not be this host from inside.
        skipChallengeVerification: true,
        challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
          this.#o.challenges.set(challenge.token, keyAuthorization);
        },
        challengeRemoveFn: async (_authz, challenge) => {
          this.#o.challenges.delete(challenge.token);
        },
      });
      return { certPem, keyPem: key.toString(), ...certValidity(certPem) };
    } catch (e) {
      throw new BerthError("BERTH_ROUTER_CERT_FAILED", { domain, detail: e instanceof Error ? e.message : String(e) }, { cause: e });
    }
  }
}
