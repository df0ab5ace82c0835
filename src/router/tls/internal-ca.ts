/**
 * Berth's own certificate authority for private and local domains (`*.localhost`, `*.internal`)
 * and for the HTTPS listener's default certificate. Keys and certificates are made by the
 * `openssl` command (argv arrays, no shell); node:crypto reads them back.
 */
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { isValidDomain } from "../routes.ts";

const run = promisify(execFile);

/** A certificate and its key, PEM. `pem` is what HAProxy loads: chain then key. */
export interface IssuedCert {
  readonly certPem: string;
  readonly keyPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Combined PEM for HAProxy (`crt` files hold the chain and the key). */
export function haproxyPem(c: Pick<IssuedCert, "certPem" | "keyPem">): string {
  return `${c.certPem.trim()}\n${c.keyPem.trim()}\n`;
}

export function certValidity(certPem: string): { notBefore: Date; notAfter: Date } {
  const x = new X509Certificate(certPem);
  return { notBefore: new Date(x.validFrom), notAfter: new Date(x.validTo) };
}

/** The argv that creates the CA. */
export function caArgv(keyPath: string, certPath: string, days: number): string[] {
  return [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", keyPath, "-out", certPath, "-days", String(days), "-subj", "/CN=Berth Internal CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ];
}

/** The argv that issues a leaf certificate for `domain`, signed by the CA. */
export function leafArgv(o: { caKey: string; caCert: string; keyPath: string; certPath: string; domain: string; days: number }): string[] {
  return [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-CA", o.caCert, "-CAkey", o.caKey, "-keyout", o.keyPath, "-out", o.certPath, "-days", String(o.days),
    "-subj", `/CN=${o.domain}`, "-addext", `subjectAltName=DNS:${o.domain}`,
    "-addext", "basicConstraints=critical,CA:FALSE", "-addext", "extendedKeyUsage=serverAuth",
  ];
}

export class InternalCa {
  readonly dir: string;
  readonly #bin: string;

  constructor(dir: string, options: { opensslBinary?: string } = {}) {
    this.dir = dir;
    this.#bin = options.opensslBinary ?? "openssl";
  }

  get certPath(): string {
    return join(this.dir, "ca.pem");
  }

  /** Creates the CA once; later calls reuse it. */
  async ensure(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    if (existsSync(this.certPath)) return;
    await run(this.#bin, caArgv(join(this.dir, "ca.key"), this.certPath, 3650));
  }

  async caPem(): Promise<string> {
    return readFile(this.certPath, "utf8");
  }

  /** Issues a certificate for one domain (the key never leaves the state dir and memory). */
  async issue(domain: string, days = 90): Promise<IssuedCert> {
    if (!isValidDomain(domain)) throw new Error(`not a domain: ${domain}`);
    await this.ensure();
    const work = join(this.dir, `issue-${process.pid}-${Date.now()}`);
    await mkdir(work, { mode: 0o700 });
    try {
      const keyPath = join(work, "key.pem");
      const certPath = join(work, "cert.pem");
      await run(this.#bin, leafArgv({ caKey: join(this.dir, "ca.key"), caCert: this.certPath, keyPath, certPath, domain, days }));
      const certPem = await readFile(certPath, "utf8");
      const keyPem = await readFile(keyPath, "utf8");
      return { certPem, keyPem, ...certValidity(certPem) };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
}
