import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { DrainQueue, type DrainRecord } from "./queue.ts";
import { otlpBody, senderFor, syslogFrame, syslogLine } from "./senders.ts";

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
