/**
 * Loopback isolation between projects (issue 17). Every project's processes (instances, tasks,
 * builds) run as the project's own Unix user and share the host's network namespace, so without
 * rules any of them could connect to the daemon's API, another project's private services, or
 * another project's Postgres and Redis on 127.0.0.1. An nftables table owned by this daemon
 * matches on the socket's owner (`meta skuid`) for packets to local addresses (`fib daddr type
 * local`, which covers 127.0.0.0/8, ::1 and the host's own addresses) and rejects what the
 * project was not granted:
 *
 * - granted: the project's own instance ports, the ports of the data stores its releases were
 *   given (fromDatabase / fromKeyValue references, recorded when a release is sealed), the
 *   router's public ports;
 * - `guarded` mode (default): every other port this daemon owns is refused — its API, other
 *   projects' instances and data stores. Ports Berth does not own are left alone, so daemons
 *   sharing a host (tests) never block each other.
 * - `strict` mode: every local port outside the grant is refused (a dedicated host).
 *
 * Internal addresses (issue 22): the private network's listeners sit on loopback addresses of
 * their own (127.64.0.0/10). A project's user may reach its own (accepted before any port rule,
 * so a port number shared with another project's instance never blocks it); every other address
 * this daemon allocated is refused to it, whatever the port.
 *
 * Rendering is pure (snapshot-tested); applying is one `nft -f -` transaction that replaces the
 * table atomically. Rules only ever match the uids of projects this daemon runs.
 */
import { execFile } from "node:child_process";
import type { EventSink } from "../core/events.ts";

export type LoopbackMode = "guarded" | "strict";

export interface LoopbackRules {
  /** nftables table name: letters, digits and `_` (derived from the engine id). */
  readonly table: string;
  readonly mode: LoopbackMode;
  /** Per project user: the local ports it may reach. */
  readonly users: readonly { readonly uid: number; readonly allow: readonly number[] }[];
  /** Ports this daemon owns (guarded mode refuses those not allowed). */
  readonly owned: readonly number[];
  /** Internal addresses this daemon allocated (issue 22), and per uid those it may reach. */
  readonly internal?: { readonly owned: readonly string[]; readonly byUid: ReadonlyMap<number, readonly string[]> };
}

const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const sortAddrs = (xs: Iterable<string>): string[] => [...new Set(xs)].filter((a) => IPV4.test(a)).sort();

const sortNum = (xs: Iterable<number>): number[] => [...new Set(xs)].filter((p) => Number.isInteger(p) && p > 0 && p < 65536).sort((a, b) => a - b);

/**
 * A table name nft accepts: `berth_<id>_<pid>`. The pid lets any daemon sweep tables left by a
 * daemon that died without cleaning up (their deny lists would otherwise outlive their ports).
 */
export function tableName(id: string, pid: number = process.pid): string {
  return `berth_${id.toLowerCase().replace(/[^a-z0-9]/g, "").slice(0, 24)}_${pid}`;
}

/** Tables of dead daemons, and of earlier runs of this one, from `nft list tables` output (pure). */
export function staleTables(listing: string, own: string, alive: (pid: number) => boolean): string[] {
  const ownId = own.replace(/_\d+$/, "");
  const out: string[] = [];
  for (const m of listing.matchAll(/^table inet (berth_([a-z0-9]+)_(\d+))$/gm)) {
    const [, name, , pid] = m;
    if (name === own) continue;
    if (name!.replace(/_\d+$/, "") === ownId || !alive(Number(pid))) out.push(name!);
  }
  return out;
}

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** The nft script that replaces the table with these rules (pure). */
export function renderLoopbackRules(r: LoopbackRules): string {
  if (!/^[a-z][a-z0-9_]{0,63}$/.test(r.table)) throw new Error(`bad nft table name ${r.table}`);
  const set = (name: string, ports: readonly number[]): string[] => [
    `  set ${name} {`,
    "    type inet_service",
    ...(ports.length ? [`    elements = { ${sortNum(ports).join(", ")} }`] : []),
    "  }",
  ];
  const addrSet = (name: string, addrs: readonly string[]): string[] => [
    `  set ${name} {`,
    "    type ipv4_addr",
    ...(addrs.length ? [`    elements = { ${sortAddrs(addrs).join(", ")} }`] : []),
    "  }",
  ];
  const out = [`table inet ${r.table}`, `delete table inet ${r.table}`, `table inet ${r.table} {`];
  const rules: string[] = [];
  const internalOwned = sortAddrs(r.internal?.owned ?? []);
  if (internalOwned.length) out.push(...addrSet("internal", internalOwned));
  for (const u of [...r.users].sort((a, b) => a.uid - b.uid)) {
    if (!Number.isInteger(u.uid) || u.uid <= 0) throw new Error(`bad uid ${u.uid}`);
    const allow = sortNum(u.allow);
    out.push(...set(`allow_${u.uid}`, allow));
    if (internalOwned.length) {
      const own = sortAddrs(r.internal?.byUid.get(u.uid) ?? []).filter((a) => internalOwned.includes(a));
      out.push(...addrSet(`internal_${u.uid}`, own));
      rules.push(`    meta skuid ${u.uid} ip daddr @internal_${u.uid} accept`);
      rules.push(`    meta skuid ${u.uid} ip daddr @internal meta l4proto tcp counter reject with tcp reset`);
      rules.push(`    meta skuid ${u.uid} ip daddr @internal counter reject`);
    }
    const match = `meta skuid ${u.uid} fib daddr type local`;
    if (r.mode === "strict") {
      rules.push(`    ${match} tcp dport != @allow_${u.uid} counter reject with tcp reset`);
      rules.push(`    ${match} udp dport != @allow_${u.uid} udp dport != 53 counter reject`);
    } else {
      const deny = sortNum(r.owned).filter((p) => !allow.includes(p));
      out.push(...set(`deny_${u.uid}`, deny));
      rules.push(`    ${match} tcp dport @deny_${u.uid} counter reject with tcp reset`);
      rules.push(`    ${match} udp dport @deny_${u.uid} counter reject`);
    }
  }
  out.push("  chain output {", "    type filter hook output priority filter; policy accept;", ...rules, "  }", "}");
  return `${out.join("\n")}\n`;
}

interface ProjectState {
  uid: number;
  instancePorts: number[];
  /** Ports granted by sealed releases, by `environment/resource`-ish key. */
  readonly grants: Map<string, number[]>;
}

export interface LoopbackPolicyOptions {
  readonly table: string;
  readonly mode: LoopbackMode;
  /** The daemon's own API port: owned, never granted (updated with setDaemonPorts once listening). */
  readonly daemonPorts?: readonly number[];
  /** The router's public ports: granted to every project. */
  readonly publicPorts: readonly number[];
  readonly events?: EventSink;
  /** The nft binary. */
  readonly nft?: string;
}

/** The daemon's loopback policy: state per project, re-applied as a whole on every change. */
export class LoopbackPolicy {
  readonly #o: LoopbackPolicyOptions;
  readonly #projects = new Map<string, ProjectState>();
  /** Grants for projects whose user is not known yet, applied when it is. */
  readonly #pending = new Map<string, number[]>();
  /** Internal addresses by project (issue 22); projects without a known user only own theirs. */
  #internal: ReadonlyMap<string, readonly string[]> = new Map();
  #chain: Promise<void> = Promise.resolve();
  #failed = false;
  #applied = false;
  #daemonPorts: readonly number[];

  constructor(options: LoopbackPolicyOptions) {
    this.#o = options;
    this.#daemonPorts = options.daemonPorts ?? [];
  }

  /** The daemon's own listening ports, known once it listens. */
  setDaemonPorts(ports: readonly number[]): Promise<void> {
    this.#daemonPorts = ports;
    return this.#projects.size > 0 ? this.apply() : this.#chain;
  }

  /** The rules as they stand (pure view of the state). */
  rules(): LoopbackRules {
    const owned = new Set<number>(this.#daemonPorts);
    for (const p of this.#projects.values()) {
      for (const port of p.instancePorts) owned.add(port);
      for (const ports of p.grants.values()) for (const port of ports) owned.add(port);
    }
    const byUid = new Map<number, string[]>();
    for (const [project, p] of this.#projects) byUid.set(p.uid, [...(byUid.get(p.uid) ?? []), ...(this.#internal.get(project) ?? [])]);
    return {
      table: this.#o.table,
      mode: this.#o.mode,
      owned: sortNum(owned),
      ...(this.#internal.size > 0 ? { internal: { owned: sortAddrs([...this.#internal.values()].flat()), byUid } } : {}),
      users: [...this.#projects.values()].map((p) => ({ uid: p.uid, allow: sortNum([...p.instancePorts, ...[...p.grants.values()].flat(), ...this.#o.publicPorts]) })),
    };
  }

  #state(project: string, uid: number): ProjectState {
    let s = this.#projects.get(project);
    if (!s) {
      s = { uid, instancePorts: [], grants: new Map() };
      this.#projects.set(project, s);
    }
    s.uid = uid;
    return s;
  }

  /** Makes sure the project's user is covered (before a build or first instance). */
  ensureProject(project: string, uid: number): Promise<void> {
    const known = this.#projects.get(project)?.uid === uid;
    this.#state(project, uid);
    return known && this.#applied ? this.#chain : this.apply();
  }

  /** The ports of every running instance, by project (replaces what was there). */
  setInstancePorts(byProject: ReadonlyMap<string, { readonly uid: number; readonly ports: readonly number[] }>): Promise<void> {
    for (const [project, s] of this.#projects) if (!byProject.has(project)) s.instancePorts = [];
    for (const [project, v] of byProject) this.#state(project, v.uid).instancePorts = sortNum(v.ports);
    return this.apply();
  }

  /**
   * The internal addresses of every project (issue 22; replaces what was there). Applied at once
   * when a project's user is known; otherwise they are still refused to every other project.
   */
  setInternalAddresses(byProject: ReadonlyMap<string, readonly string[]>): Promise<void> {
    const next = new Map([...byProject].map(([p, a]) => [p, sortAddrs(a)] as const));
    if (JSON.stringify([...next]) === JSON.stringify([...this.#internal]) && this.#applied) return this.#chain;
    this.#internal = next;
    return this.#projects.size > 0 ? this.apply() : this.#chain;
  }

  /** Records the data-store ports a project's release was given (`key`: environment). */
  grant(project: string, key: string, ports: readonly number[]): Promise<void> {
    const s = this.#projects.get(project);
    const next = sortNum(ports);
    if (s) {
      if (JSON.stringify(s.grants.get(key)) === JSON.stringify(next)) return this.#chain;
      s.grants.set(key, next);
      return this.apply();
    }
    // Not running anything yet: remembered until its user is known.
    this.#pending.set(`${project}\n${key}`, next);
    return this.#chain;
  }

  /**
   * Drops a project whose Unix user was removed (its last service left this host, issue 15): the
   * uid may be handed to another project's new user, which must not inherit these grants.
   */
  forgetProject(project: string): Promise<void> {
    const known = this.#projects.delete(project);
    for (const k of this.#pending.keys()) if (k.startsWith(`${project}\n`)) this.#pending.delete(k);
    return known && this.#applied ? this.apply() : this.#chain;
  }

  /** Renders and applies the whole table, one transaction at a time. */
  apply(): Promise<void> {
    for (const [k, ports] of this.#pending) {
      const [project, key] = k.split("\n") as [string, string];
      const s = this.#projects.get(project);
      if (!s) continue;
      s.grants.set(key, ports);
      this.#pending.delete(k);
    }
    const script = renderLoopbackRules(this.rules());
    const first = !this.#applied;
    const run = this.#chain.then(async () => {
      if (first) await this.#sweep();
      await this.#nft(["-f", "-"], script);
    });
    this.#chain = run.catch(() => {});
    return run;
  }

  /** Deletes the table (daemon stopping together with its instances). */
  async remove(): Promise<void> {
    await this.#chain;
    if (!this.#applied) return;
    await this.#nft(["delete", "table", "inet", this.#o.table]).catch(() => {});
  }

  /** Deletes tables of dead daemons and of this daemon's earlier runs (best effort). */
  async #sweep(): Promise<void> {
    const listing = await new Promise<string>((resolve) => execFile(this.#o.nft ?? "nft", ["list", "tables"], { timeout: 10_000 }, (err, out) => resolve(err ? "" : out)));
    for (const name of staleTables(listing, this.#o.table, pidAlive)) {
      await new Promise<void>((resolve) => execFile(this.#o.nft ?? "nft", ["delete", "table", "inet", name], { timeout: 10_000 }, () => resolve()));
    }
  }

  #nft(args: readonly string[], input?: string): Promise<void> {
    const t0 = Date.now();
    return new Promise<void>((resolve, reject) => {
      const child = execFile(this.#o.nft ?? "nft", [...args], { timeout: 10_000 }, (err, _out, stderr) => {
        if (err) {
          const detail = `${stderr || err.message}`.trim().slice(0, 500);
          if (!this.#failed) this.#o.events?.emit({ type: "network:policy-failed", data: { detail } });
          this.#failed = true;
          reject(new Error(detail));
          return;
        }
        if (!this.#applied || this.#failed) {
          const rules = this.rules();
          this.#o.events?.emit({ type: "network:policy-applied", data: { projects: rules.users.length, ports: rules.owned.length, ms: Date.now() - t0 } });
        }
        this.#applied = true;
        this.#failed = false;
        resolve();
      });
      if (input !== undefined) child.stdin?.end(input);
    });
  }
}

/** Local ports named in a release's data-store values (ports and URLs on loopback). */
export function loopbackPortsIn(values: unknown): number[] {
  const out: number[] = [];
  const visit = (v: unknown, key: string): void => {
    if (typeof v === "string") {
      if (key === "port" && /^\d+$/.test(v)) out.push(Number(v));
      for (const m of v.matchAll(/(?:127\.0\.0\.1|localhost|\[::1\]):(\d{1,5})/g)) out.push(Number(m[1]));
    } else if (typeof v === "number" && key === "port") out.push(v);
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) visit(x, k);
  };
  visit(values, "");
  return sortNum(out);
}
