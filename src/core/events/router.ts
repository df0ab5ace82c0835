/** Events reported by the router (HAProxy data plane, TLS). */
export interface RouterEvents {
  "router:started": { pid: number; httpPort: number; httpsPort: number };
  "router:reloaded": { generation: number; backends: number; ms: number };
  "router:config-rejected": { generation: number; detail: string };
  "router:exited": { code: number | null; signal: string | null };
  "router:restarting": { attempt: number; delayMs: number };
  "router:server-added": { backend: string; instance: string; endpoint: string };
  "router:server-removed": { backend: string; instance: string; drainedMs: number };
  "router:cert-issued": { domain: string; issuer: "acme" | "internal"; notAfter: string };
  "router:cert-failed": { domain: string; detail: string };
  /** A host that wants an ACME certificate while ACME is off (a choice, not a failure: no alert). */
  "router:cert-skipped": { domain: string; reason: string };
  /** A stored certificate of a routed host has less than 1/6 of its lifetime left (renewals keep failing). */
  "router:cert-expiring": { domain: string; notAfter: string; remainingMs: number };
  "router:cert-budget-warning": { registeredDomain: string; count: number; limit: number };
}
