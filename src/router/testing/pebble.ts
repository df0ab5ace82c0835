/**
 * A test ACME CA: Debian's `pebble` with `pebble-challtestsrv` as its DNS server, resolving every
 * name to 127.0.0.1, so HTTP-01 validations dial `httpPort` on loopback (a router's HTTP port).
 * The Debian package ships no certificate for pebble's own HTTPS: one is made with openssl.
 * Used only by tests.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { readFile, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { eventually, freePort } from "../test-helpers.ts";

const run = promisify(execFile);

export interface Pebble {
  /** `https://127.0.0.1:<port>/dir`. */
  readonly directoryUrl: string;
  /** The PEM file that pebble's HTTPS is signed with (trust it to reach the directory). */
  readonly caFile: string;
  readonly caPem: string;
  stop(): Promise<void>;
}

/** Starts pebble and its DNS server on free loopback ports; files go into `dir`. */
export async function startPebble(options: { dir: string; httpPort: number; validitySeconds?: number }): Promise<Pebble> {
  const { dir } = options;
  const caFile = join(dir, "pebble.pem");
  await run("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-keyout", join(dir, "pebble.key"), "-out", caFile, "-subj", "/CN=localhost",
    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
  ]);
  const [acmePort, acmeMgmt, dnsPort, dnsMgmt, tlsAlpn] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill("SIGTERM");
        await once(c, "exit");
      }
    }
  };
  try {
    children.push(
      spawn("pebble-challtestsrv", ["-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-dns01", `127.0.0.1:${dnsPort}`, "-http01", "", "-https01", "", "-tlsalpn01", "", "-management", `127.0.0.1:${dnsMgmt}`], { stdio: "ignore" }),
    );
    await writeFile(
      join(dir, "pebble.json"),
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${acmePort}`,
          managementListenAddress: `127.0.0.1:${acmeMgmt}`,
          certificate: caFile,
          privateKey: join(dir, "pebble.key"),
          httpPort: options.httpPort,
          tlsPort: tlsAlpn,
          ocspResponderURL: "",
          externalAccountBindingRequired: false,
          certificateValidityPeriod: options.validitySeconds ?? 3600,
        },
      }),
    );
    children.push(
      spawn("pebble", ["-config", join(dir, "pebble.json"), "-dnsserver", `127.0.0.1:${dnsPort}`], {
        stdio: "ignore",
        env: { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0" },
      }),
    );
    await eventually(async () => {
      const sock = connect(acmePort, "127.0.0.1");
      const ok = await once(sock, "connect").then(
        () => true,
        () => false,
      );
      sock.destroy();
      return ok;
    });
    return { directoryUrl: `https://127.0.0.1:${acmePort}/dir`, caFile, caPem: await readFile(caFile, "utf8"), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
