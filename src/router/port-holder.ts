/**
 * Who listens on a TCP port (issue 15): when the router cannot bind its port, the error names
 * the process holding it — typically a router left behind by another data dir — instead of the
 * kernel silently sharing the port between two HAProxies. Reads /proc/net/tcp{,6} for the
 * listening socket's inode, then /proc/<pid>/fd for its owner.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** Inodes of sockets listening on `port` (state 0A = LISTEN), from /proc/net/tcp text. Pure. */
export function listeningInodes(procNetTcp: string, port: number): string[] {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const out: string[] = [];
  for (const line of procNetTcp.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    const local = f[1] ?? "";
    if (f[3] === "0A" && local.endsWith(`:${hex}`) && f[9]) out.push(f[9]);
  }
  return out;
}

/** `pid (command line)` of the process listening on `port`, or undefined when none is found. */
export function portHolder(port: number): string | undefined {
  const inodes = new Set<string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    try {
      for (const i of listeningInodes(readFileSync(file, "utf8"), port)) inodes.add(`socket:[${i}]`);
    } catch {
      // no IPv6 table: fine
    }
  }
  if (inodes.size === 0) return undefined;
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${name}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link = "";
      try {
        link = readlinkSync(`/proc/${name}/fd/${fd}`);
      } catch {
        continue;
      }
      if (!inodes.has(link)) continue;
      let cmd = "";
      try {
        cmd = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
      } catch {
        cmd = "?";
      }
      return `pid ${name} (${cmd.slice(0, 200)})`;
    }
  }
  return "a process this user cannot inspect";
}

/** The `host:port` HAProxy could not bind, from its alert line, or undefined. */
export function bindFailure(output: string): { address: string; port: number } | undefined {
  const m = /cannot bind socket \([^)]*\) for \[([^\]]*):(\d+)\]/.exec(output);
  return m ? { address: `${m[1]}:${m[2]}`, port: Number(m[2]) } : undefined;
}
