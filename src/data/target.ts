/**
 * Parsing what users type at the edges (`berth db restore --to ...`, DATABASE_URL values) into
 * the providers' types. Both `postgres://` and `postgresql://` are accepted everywhere.
 */
import { BerthError } from "../core/errors.ts";
import type { RestoreTarget } from "./provider.ts";

/** `latest`, an ISO 8601 time, a backup id (`b-...`), or `point:<name>`. */
export function parseRestoreTarget(text: string): RestoreTarget {
  const t = text.trim();
  if (t === "latest" || t === "now") return { kind: "latest" };
  if (t.startsWith("point:")) return { kind: "point", name: t.slice(6) };
  if (/^[bdr]-\d{8}T\d{6}Z-[0-9a-f]{4}$/.test(t)) return { kind: "backup", backup: t };
  const ms = Date.parse(t);
  if (!Number.isNaN(ms) && /^\d{4}-\d{2}-\d{2}/.test(t)) return { kind: "time", at: new Date(ms).toISOString() };
  throw new BerthError("BERTH_DATA_RESTORE_TARGET_INVALID", { name: "--to", target: t, detail: "expected latest, an ISO time (2026-01-22T04:15:00Z), a backup id (b-...) or point:<name>" });
}

export interface ParsedPgUrl {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

/** Parses a PostgreSQL URL with either scheme. */
export function parsePostgresUrl(url: string): ParsedPgUrl {
  const m = /^(postgres|postgresql):\/\//.exec(url);
  if (!m) throw new BerthError("BERTH_DATA_INPUT_INVALID", { kind: "postgres", name: "url", detail: "expected postgres:// or postgresql://" });
  const u = new URL(`http://${url.slice(m[0].length)}`);
  return { host: u.hostname, port: Number(u.port || 5432), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), database: decodeURIComponent(u.pathname.slice(1)) };
}

/** The same URL with the other scheme, for apps that insist on one (`postgres://` for some ORMs). */
export function withScheme(url: string, scheme: "postgres" | "postgresql"): string {
  return url.replace(/^(postgres|postgresql):\/\//, `${scheme}://`);
}
