import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { LoopbackPolicy, loopbackPortsIn, renderLoopbackRules, staleTables, tableName } from "./loopback-policy.ts";

test("guarded: each project user is refused the daemon's other ports, nothing else", () => {
  const script = renderLoopbackRules({
    table: "berth_abc_1",
    mode: "guarded",
    owned: [7700, 20001, 20002, 30001],
    users: [
      { uid: 901, allow: [20001, 30001, 8080] },
      { uid: 900, allow: [20002] },
    ],
  });
  assert.equal(
    script,
    `table inet berth_abc_1
delete table inet berth_abc_1
table inet berth_abc_1 {
  set allow_900 {
    type inet_service
    elements = { 20002 }
  }
  set deny_900 {
    type inet_service
    elements = { 7700, 20001, 30001 }
  }
  set allow_901 {
    type inet_service
    elements = { 8080, 20001, 30001 }
  }
  set deny_901 {
    type inet_service
    elements = { 7700, 20002 }
  }
  chain output {
    type filter hook output priority filter; policy accept;
    meta skuid 900 fib daddr type local tcp dport @deny_900 counter reject with tcp reset
    meta skuid 900 fib daddr type local udp dport @deny_900 counter reject
    meta skuid 901 fib daddr type local tcp dport @deny_901 counter reject with tcp reset
    meta skuid 901 fib daddr type local udp dport @deny_901 counter reject
  }
}
`,
  );
});

test("strict: everything local outside the grant is refused (DNS on loopback stays)", () => {
  const script = renderLoopbackRules({ table: "berth_abc_1", mode: "strict", owned: [], users: [{ uid: 900, allow: [] }] });
  assert.match(script, /meta skuid 900 fib daddr type local tcp dport != @allow_900 counter reject with tcp reset/);
  assert.match(script, /udp dport != @allow_900 udp dport != 53 counter reject/);
  assert.ok(!script.includes("elements"), "an empty set has no elements line");
});

test("names and numbers only: a bad table name or uid never reaches nft", () => {
  assert.throws(() => renderLoopbackRules({ table: "x; flush ruleset", mode: "guarded", owned: [], users: [] }));
  assert.throws(() => renderLoopbackRules({ table: "berth_a_1", mode: "guarded", owned: [], users: [{ uid: 0, allow: [] }] }));
  assert.equal(tableName("Ab-9/x", 42), "berth_ab9x_42");
});

test("stale tables: earlier runs of this daemon and tables of dead daemons", () => {
  const listing = "table inet berth_aaa_10\ntable inet berth_aaa_11\ntable inet berth_bbb_20\ntable inet berth_ccc_30\ntable ip nat\n";
  assert.deepEqual(staleTables(listing, "berth_aaa_11", (pid) => pid !== 20), ["berth_aaa_10", "berth_bbb_20"]);
});

test("grants: ports of loopback URLs and port fields in a release's data-store values", () => {
  const values = { databases: { db: { connectionString: "postgres://u:p@127.0.0.1:41000/db", pooledConnectionString: "postgres://u:p@127.0.0.1:41001/db", port: "41000" } }, keyValues: { cache: { url: "redis://:x@localhost:42000" } }, services: {} };
  assert.deepEqual(loopbackPortsIn(values), [41000, 41001, 42000]);
});

test("a forgotten project's grants do not pass to a later project given the same uid", async () => {
  // A stand-in nft that reads its script and succeeds: only the state and its rules are checked here.
  const nft = join(mkdtempSync(join(tmpdir(), "berth-nft-")), "nft");
  writeFileSync(nft, "#!/bin/sh\ncat >/dev/null\n", { mode: 0o755 });
  const policy = new LoopbackPolicy({ table: "berth_t_1", mode: "guarded", publicPorts: [80], nft });
  await policy.ensureProject("a", 901);
  await policy.grant("a", "production", [5432]);
  assert.deepEqual(policy.rules().users, [{ uid: 901, allow: [80, 5432] }]);
  await policy.forgetProject("a"); // its user was removed with its last service
  assert.deepEqual(policy.rules().users, []);
  await policy.ensureProject("b", 901); // useradd handed the freed uid to b's user
  assert.deepEqual(policy.rules().users, [{ uid: 901, allow: [80] }]);
  assert.deepEqual(policy.rules().owned, [], "a's database port is no longer owned by anyone");
});

test("internal addresses (issue 22): a project reaches its own first, every other allocated one is refused; nft accepts it", async () => {
  const script = renderLoopbackRules({
    table: "berth_int_1",
    mode: "guarded",
    owned: [20001, 20002],
    users: [
      { uid: 901, allow: [20001] },
      { uid: 900, allow: [20002] },
    ],
    internal: { owned: ["127.64.3.2", "127.64.3.1", "127.64.3.9"], byUid: new Map([[901, ["127.64.3.1", "127.64.3.2"]]]) },
  });
  assert.match(script, /set internal \{\n    type ipv4_addr\n    elements = \{ 127\.64\.3\.1, 127\.64\.3\.2, 127\.64\.3\.9 \}\n  \}/);
  assert.match(script, /set internal_901 \{\n    type ipv4_addr\n    elements = \{ 127\.64\.3\.1, 127\.64\.3\.2 \}\n  \}/);
  assert.match(script, /set internal_900 \{\n    type ipv4_addr\n  \}/);
  const chain = script.slice(script.indexOf("chain output"));
  // Own addresses are accepted before any port rule (a port shared with another project's instance must not block them).
  assert.ok(chain.indexOf("meta skuid 901 ip daddr @internal_901 accept") < chain.indexOf("meta skuid 901 fib daddr type local tcp dport @deny_901"));
  assert.match(chain, /meta skuid 900 ip daddr @internal meta l4proto tcp counter reject with tcp reset/);
  // Without internal addresses the rules are what they were.
  assert.ok(!renderLoopbackRules({ table: "berth_int_1", mode: "guarded", owned: [], users: [{ uid: 900, allow: [] }] }).includes("internal"));
  if (process.getuid?.() === 0) {
    const { execFileSync } = await import("node:child_process");
    execFileSync("nft", ["-c", "-f", "-"], { input: script.replace(/^table inet berth_int_1\ndelete table inet berth_int_1\n/, "") });
  }
});
