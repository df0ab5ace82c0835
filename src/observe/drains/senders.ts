/**
 * Drain senders: HTTP NDJSON (one JSON object per line), RFC 5424 syslog over TCP or TLS with
 * octet-counted framing (RFC 6587), and OTLP/HTTP logs (JSON encoding). Each takes a batch and
 * resolves once the receiver accepted it (HTTP 2xx; for syslog, once written to the socket).
 */
import { connect as netConnect, type Socket } from "node:net";
import { hostname } from "node:os";
import { connect as tlsConnect } from "node:tls";
import type { LogDrainConfig } from "../../blueprint/types.ts";
import type { DrainRecord } from "./queue.ts";
import { literalsOnly, type ResolvedDrain, resolveDrain } from "./secrets.ts";
import { post } from "../post.ts";

export type Sender = ((batch: readonly DrainRecord[], signal: AbortSignal) => Promise<void>) & { close?: () => void };

/** NDJSON body of a batch. */
export function ndjson(batch: readonly DrainRecord[]): string {
  return batch.map((r) => `${JSON.stringify(r)}\n`).join("");
}

const SD_ESC = (v: string): string => v.replace(/[\\\]"]/g, (c) => `\\${c}`);

/** One RFC 5424 message: facility user (1), severity info (6) for stdout, err (3) for stderr. */
export function syslogLine(r: DrainRecord, host = hostname()): string {
  const pri = 8 + (r.stream === "stderr" ? 3 : 6);
  const app = `${r.project}.${r.service}`.slice(0, 48).replace(/[^\x21-\x7e]/g, "_");
  const sd = `[berth@32473 project="${SD_ESC(r.project)}" environment="${SD_ESC(r.environment)}" service="${SD_ESC(r.service)}" instance="${SD_ESC(r.instance)}"]`;
  return `<${pri}>1 ${r.time} ${host.slice(0, 255) || "-"} ${app} - - ${sd} ${r.message}`;
}

/** Octet-counted framing: `LEN SP MSG`. */
export function syslogFrame(line: string): string {
  return `${Buffer.byteLength(line)} ${line}`;
}

/** OTLP/HTTP JSON body: one resource per service. */
export function otlpBody(batch: readonly DrainRecord[]): unknown {
  const byService = new Map<string, DrainRecord[]>();
  for (const r of batch) {
    const k = `${r.project}\n${r.environment}\n${r.service}`;
    byService.set(k, [...(byService.get(k) ?? []), r]);
  }
  const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
  return {
    resourceLogs: [...byService.values()].map((rs) => ({
      resource: { attributes: [str("service.name", rs[0]!.service), str("service.namespace", rs[0]!.project), str("deployment.environment", rs[0]!.environment)] },
      scopeLogs: [
        {
          scope: { name: "berth" },
          logRecords: rs.map((r) => ({
            timeUnixNano: String(BigInt(Date.parse(r.time)) * 1_000_000n),
            severityNumber: r.stream === "stderr" ? 17 : 9,
            severityText: r.stream === "stderr" ? "ERROR" : "INFO",
            body: { stringValue: r.message },
            attributes: [str("service.instance.id", r.instance), str("log.iostream", r.stream)],
          })),
        },
      ],
    })),
  };
}

/** A persistent syslog connection, reopened after an error. */
function syslogSender(url: URL): Sender {
  let sock: Socket | undefined;
  const open = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const port = Number(url.port);
      const s = url.protocol === "tls:" ? tlsConnect({ host: url.hostname, port, servername: url.hostname }) : netConnect({ host: url.hostname, port });
      const ready = url.protocol === "tls:" ? "secureConnect" : "connect";
      s.once(ready, () => resolve(s));
      s.once("error", (e) => {
        sock = undefined;
        reject(e);
      });
      s.once("close", () => {
        if (sock === s) sock = undefined;
      });
    });
  const send: Sender = async (batch) => {
    sock ??= await open();
    const s = sock;
    const data = batch.map((r) => syslogFrame(syslogLine(r))).join("");
    await new Promise<void>((resolve, reject) => {
      s.write(data, (e) => (e ? reject(e) : resolve()));
    });
  };
  send.close = () => sock?.destroy();
  return send;
}

/**
 * The sender of one drain. `resolve` reads its credentials from the secret store at each batch
 * (drains/secrets.ts); when it throws (a value is unset), the batch fails and the queue retries.
 */
export function senderFor(drain: LogDrainConfig, resolve: () => ResolvedDrain = () => resolveDrain(0, drain, "", literalsOnly)): Sender {
  switch (drain.type) {
    case "http":
    case "otlp":
      return async (batch, signal) => {
        const d = resolve();
        if (d.type === "syslog") throw new Error("a syslog drain has no HTTP sender");
        const body = drain.type === "http" ? ndjson(batch) : JSON.stringify(otlpBody(batch));
        return post(d.url, body, { "content-type": drain.type === "http" ? "application/x-ndjson" : "application/json", ...d.headers }, signal, "the drain's URL");
      };
    case "syslog":
      return syslogSender(new URL(drain.url));
  }
}

/** A name for events: the drain's type and host (never its headers or a URL kept in the secret store). */
export function drainName(drain: LogDrainConfig): string {
  if (typeof drain.url !== "string") return `${drain.type}:${drain.url.name}.${drain.url.key}`;
  try {
    const u = new URL(drain.url);
    return `${drain.type}:${u.host}`;
  } catch {
    return drain.type;
  }
}
