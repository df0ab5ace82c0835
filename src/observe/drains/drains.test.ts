import assert from "node:assert/strict";
import { createServer as createHttpServer, type IncomingHttpHeaders } from "node:http";
import { createServer } from "node:net";
import { test } from "node:test";
import type { LogDrainConfig } from "../../blueprint/types.ts";
import { BerthError } from "../../core/errors.ts";
import { DrainQueue, type DrainRecord } from "./queue.ts";
import { resolveDrain } from "./secrets.ts";
import { drainName, otlpBody, senderFor, syslogFrame, syslogLine } from "./senders.ts";

const rec = (i: number, stream: "stdout" | "stderr" = "stdout"): DrainRecord => ({ time: "2026-01-01T00:00:00.000Z", project: "p", environment: "prod", service: "api", instance: "i1", stream, message: `line ${i}` });

test("a full buffer drops the oldest lines and says how many", async () => {
  const sent: string[] = [];
  let fail = true;
  const dropped: number[] = [];
  const q = new DrainQueue({
    name: "x",
    maxLines: 5,
    retryMs: 5,
    maxRetryMs: 5,
    send: async (b) => {
      if (fail) throw new Error("down");
      sent.push(...b.map((r) => r.message));
    },
    onDropped: (n) => dropped.push(n),
  });
  for (let i = 0; i < 8; i++) q.push([rec(i)]);
  assert.equal(q.dropped, 3);
  assert.deepEqual(dropped, [1, 1, 1]);
  fail = false;
  q.push([rec(8)]);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(sent, ["line 4", "line 5", "line 6", "line 7", "line 8"]);
  await q.stop();
});

test("RFC 5424 lines with structured data, octet-counted frames", () => {
  const line = syslogLine(rec(1, "stderr"), "host1");
  assert.equal(line, '<11>1 2026-01-01T00:00:00.000Z host1 p.api - - [berth@32473 project="p" environment="prod" service="api" instance="i1"] line 1');
  assert.equal(syslogFrame("héllo"), "6 héllo");
});

test("syslog over TCP delivers framed lines", async () => {
  let data = "";
  const server = createServer((s) => s.on("data", (c) => (data += c.toString())));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const send = senderFor({ type: "syslog", url: `tcp://127.0.0.1:${(server.address() as { port: number }).port}` });
  await send([rec(1), rec(2)], AbortSignal.timeout(5000));
  for (let i = 0; i < 50 && !data.includes("line 2"); i++) await new Promise((r) => setTimeout(r, 20));
  send.close?.();
  server.close();
  const frames = data.match(/^(\d+) /)!;
  assert.ok(Number(frames[1]) > 0);
  assert.ok(data.includes("] line 1") && data.includes("] line 2"));
});

test("OTLP/HTTP JSON: one resource per service, records with severity and instance", () => {
  const body = otlpBody([rec(1), rec(2, "stderr")]) as { resourceLogs: { resource: { attributes: { key: string }[] }; scopeLogs: { logRecords: { severityText: string; timeUnixNano: string }[] }[] }[] };
  assert.equal(body.resourceLogs.length, 1);
  assert.deepEqual(body.resourceLogs[0]!.resource.attributes.map((a) => a.key), ["service.name", "service.namespace", "deployment.environment"]);
  assert.deepEqual(body.resourceLogs[0]!.scopeLogs[0]!.logRecords.map((r) => r.severityText), ["INFO", "ERROR"]);
  assert.equal(body.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.timeUnixNano, "1767225600000000000");
});

/** A local receiver recording each POST's headers and body; answers `status()`. */
async function receiver(status = () => 200) {
  const got: { path: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createHttpServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      got.push({ path: req.url ?? "", headers: req.headers, body });
      res.writeHead(status()).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, got, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const ref = (key: string) => ({ kind: "fromGroup" as const, name: "logging", key });

test("an HTTP drain sends the header value read from the store at each batch, and a rotated value at the next", async () => {
  const rx = await receiver();
  const store = new Map([["logging/LOGTAIL_TOKEN", "Bearer stored-token-1"], ["logging/INGEST_URL", `${rx.url}/ingest/secret-path-token`]]);
  const drain: LogDrainConfig = { type: "http", url: ref("INGEST_URL"), headers: { Authorization: ref("LOGTAIL_TOKEN") } };
  const send = senderFor(drain, () => resolveDrain(0, drain, "production", (g, k) => store.get(`${g}/${k}`)));
  await send([rec(1)], AbortSignal.timeout(5000));
  store.set("logging/LOGTAIL_TOKEN", "Bearer stored-token-2");
  await send([rec(2)], AbortSignal.timeout(5000));
  await rx.close();
  assert.deepEqual(rx.got.map((g) => [g.path, g.headers.authorization, g.headers["content-type"]]), [
    ["/ingest/secret-path-token", "Bearer stored-token-1", "application/x-ndjson"],
    ["/ingest/secret-path-token", "Bearer stored-token-2", "application/x-ndjson"],
  ]);
  assert.equal((JSON.parse(rx.got[0]!.body.trim()) as DrainRecord).message, "line 1");
  assert.equal(drainName(drain), "http:logging.INGEST_URL", "the name for events is the reference, not the URL");
});

test("a drain error names the host only: never the URL's path or query, which may hold a token", async () => {
  const rx = await receiver(() => 401);
  const drain: LogDrainConfig = { type: "otlp", url: `${rx.url}/v1/logs/secret-path-token?k=1`, headers: {} };
  await assert.rejects(senderFor(drain)([rec(1)], AbortSignal.timeout(5000)), (e: Error) => e.message === `${new URL(rx.url).host} answered HTTP 401`);
  await rx.close();
  await assert.rejects(senderFor(drain)([rec(1)], AbortSignal.timeout(5000)), (e: Error) => !e.message.includes("secret-path-token") && /^127\.0\.0\.1:\d+: /.test(e.message));
});

test("an unset drain secret fails the batch naming the field, the variable and the command; the queue keeps the lines", async () => {
  const drain: LogDrainConfig = { type: "http", url: "https://in.logs.example.com", headers: { "DD-API-KEY": ref("DD_KEY") } };
  assert.throws(
    () => resolveDrain(2, drain, "production", () => undefined),
    (e: unknown) => {
      assert.ok(e instanceof BerthError);
      assert.equal(e.code, "BERTH_ALERT_SECRET_MISSING");
      assert.equal(e.message, "logDrains[2].headers.DD-API-KEY reads secret DD_KEY of env group 'logging', which has no value in environment 'production'");
      assert.match(e.hint, /berth secret set --group logging DD_KEY=- --env production/);
      return true;
    },
  );
  const errors: string[] = [];
  const q = new DrainQueue({
    name: "d",
    retryMs: 5,
    maxRetryMs: 5,
    send: senderFor(drain, () => resolveDrain(0, drain, "production", () => undefined)),
    describe: (e) => (e instanceof BerthError ? `${e.message}. ${e.hint}` : String(e)),
    onError: (reason) => errors.push(reason),
  });
  q.push([rec(1)]);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(q.pending, 1, "the line waits for the value");
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /^logDrains\[0\]\.headers\.DD-API-KEY reads secret DD_KEY .*berth secret set --group logging DD_KEY=-/);
  await q.stop(0);
});
