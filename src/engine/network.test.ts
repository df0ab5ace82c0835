import assert from "node:assert/strict";
import { test } from "node:test";
import { internalHost, internalNames, internalValues, renderHostsFile } from "./network.ts";
import { swarmNetworkAttachment, swarmNetworkName } from "./swarm/network.ts";

const ref = { project: "shop", environment: "staging", service: "api" };

test("a service's internal names: canonical `<service>.<env>.internal` first, then the short name", () => {
  assert.equal(internalHost(ref), "api.staging.internal");
  assert.deepEqual(internalNames(ref), ["api.staging.internal", "api"]);
});

test("fromService properties of the internal address (Render's host, port, hostport, url)", () => {
  assert.deepEqual(internalValues(ref, 10000, "http"), { host: "api.staging.internal", port: "10000", hostport: "api.staging.internal:10000", url: "http://api.staging.internal:10000" });
  assert.equal(internalValues({ ...ref, service: "echo" }, 7000, "tcp").url, "tcp://echo.staging.internal:7000");
});

test("the hosts file keeps the host's entries, drops lines that would shadow an internal name, and lists the environment's", () => {
  const base = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n10.0.0.9 api # a host entry that would shadow\n";
  const text = renderHostsFile(base, [
    { service: "web", names: ["web.staging.internal", "web"], address: "127.64.0.3", port: 10000, protocol: "http" },
    { service: "api", names: ["api.staging.internal", "api"], address: "127.64.0.2", port: 10000, protocol: "http" },
  ]);
  assert.equal(
    text,
    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n\n# Berth private network (issue 22): rewritten on every change.\n127.64.0.2\tapi.staging.internal api\n127.64.0.3\tweb.staging.internal web\n",
  );
});

test("Swarm: the same names are the service's aliases on the environment's overlay network", () => {
  const a = swarmNetworkAttachment(ref);
  assert.equal(swarmNetworkName(ref), "berth_shop_staging");
  assert.deepEqual(a, { Target: "berth_shop_staging", Aliases: internalNames(ref) });
});
