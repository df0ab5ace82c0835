/**
 * Certificates on disk under the router's state dir, one `<domain>.pem` (chain + key, mode 600)
 * per domain, plus the crt-list HAProxy's HTTPS listener reads. The default certificate comes
 * first in the list: HAProxy serves it when no SNI matches.
 */
import { existsSync, readdirSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { certValidity } from "./internal-ca.ts";

export const DEFAULT_CERT = "_default";

export class CertStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  get crtListPath(): string {
    return join(this.dir, "crt-list.txt");
  }

  pathOf(name: string): string {
    return join(this.dir, `${name}.pem`);
  }

  has(name: string): boolean {
    return existsSync(this.pathOf(name));
  }

  /** Names of stored certificates, default first. */
  names(): string[] {
    if (!existsSync(this.dir)) return [];
    const names = readdirSync(this.dir)
      .filter((f) => f.endsWith(".pem"))
      .map((f) => f.slice(0, -4))
      .sort();
    return [...names.filter((n) => n === DEFAULT_CERT), ...names.filter((n) => n !== DEFAULT_CERT)];
  }

  /** The crt-list file's content: one certificate path per line. */
  renderCrtList(): string {
    return this.names().map((n) => `${this.pathOf(n)}\n`).join("");
  }

  async write(name: string, pem: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.pathOf(name)}.tmp`;
    await writeFile(tmp, pem, { mode: 0o600 });
    await rename(tmp, this.pathOf(name));
    await writeFile(`${this.crtListPath}.tmp`, this.renderCrtList(), { mode: 0o600 });
    await rename(`${this.crtListPath}.tmp`, this.crtListPath);
  }

  /** Deletes a stored certificate and rewrites the crt-list; false when there was none. */
  async remove(name: string): Promise<boolean> {
    if (name === DEFAULT_CERT || !this.has(name)) return false;
    await rm(this.pathOf(name), { force: true });
    await writeFile(`${this.crtListPath}.tmp`, this.renderCrtList(), { mode: 0o600 });
    await rename(`${this.crtListPath}.tmp`, this.crtListPath);
    return true;
  }

  async read(name: string): Promise<string | undefined> {
    return this.has(name) ? readFile(this.pathOf(name), "utf8") : undefined;
  }

  /** Validity of a stored certificate (first PEM block), or undefined. */
  async validity(name: string): Promise<{ notBefore: Date; notAfter: Date } | undefined> {
    const pem = await this.read(name);
    return pem ? certValidity(pem) : undefined;
  }
}
