import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { resolveConfig } from "../../core/config.ts";
import { readCredentialsFile } from "../client.ts";

function readCredentialsPid(file: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as { pid?: number }).pid;
  } catch {
    return undefined;
  }
}

/** `berth server`: the daemon, in the foreground. */
export function registerServerCommand(program: Command): void {
  program
    .command("server")
    .description("run the Berth daemon (API, reconciler, engine) in the foreground")
    .option("--data-dir <dir>", "state directory (default /var/lib/berth as root, ~/.berth otherwise; env BERTH_DATA_DIR)")
    .option("--listen <host:port>", "API address (default 127.0.0.1:7700; env BERTH_LISTEN)")
    .option("--engine <name>", "where instances run: local or memory (env BERTH_ENGINE)")
    .option("--base-domain <domain>", "base domain of generated hostnames (default localhost)")
    .option("--build-env <list>", "adjust the variables builds receive from this environment: NAME or PREFIX* adds, -NAME removes, comma-separated (env BERTH_BUILD_ENV; see docs/design/build-env.md)")
    .option("--docker-host <socket>", "a swarm manager's Docker socket, for environments with `engine: swarm` (env BERTH_DOCKER_HOST)")
    .option("--swarm-registry <host:port>", "where Berth's image registry listens, reachable from every swarm node (default 127.0.0.1:5000; env BERTH_SWARM_REGISTRY)")
    .option("--credentials-file <path>", "where the CLI on this machine finds the daemon: {url, token, pid}, mode 0600 (default <data dir>/daemon.json)")
    .addHelpText(
      "after",
      [
        "",
        "Router and certificates (environment):",
        "  BERTH_HTTP_PORT       the router's HTTP port (default 80 as root, 8080 otherwise)",
        "  BERTH_HTTPS_PORT      its HTTPS port (default 443 as root, 8443 otherwise; 0: no HTTPS listener)",
        "  BERTH_ACME_DIRECTORY  ACME directory for custom domains (default Let's Encrypt's; off: none)",
        "  BERTH_ACME_EMAIL      contact address of the ACME account",
        "  BERTH_ACME_CA_FILE    PEM file trusted for the ACME directory's HTTPS (a private or test CA)",
        "",
        "Docker Swarm (environment; for environments whose blueprint says `engine: swarm`):",
        "  BERTH_DOCKER_HOST     a swarm manager's Docker socket (unix:///var/run/docker.sock); unset: swarm environments are refused",
        "  BERTH_SWARM_REGISTRY  host:port of Berth's image registry, reachable from every node (default 127.0.0.1:5000)",
        "",
        "Logs (environment):",
        "  BERTH_LOG_RETENTION_DAYS  log files of instances gone for longer are removed (default 7)",
      ].join("\n"),
    )
    .action(async (opts: Record<string, string | undefined>) => {
      const config = resolveConfig({
        flags: { "data-dir": opts.dataDir, listen: opts.listen, engine: opts.engine, "base-domain": opts.baseDomain, "build-env": opts.buildEnv, "docker-host": opts.dockerHost, "swarm-registry": opts.swarmRegistry },
        env: process.env,
        isRoot: process.getuid?.() === 0,
      });
      // Loaded here, not at the top: every other command starts without the daemon's code.
      const { startDaemon } = await import("../../server.ts");
      const daemon = await startDaemon(config, { logger: process.env.BERTH_LOG_REQUESTS === "1" });
      process.stdout.write(`berth daemon ${daemon.url} (data ${config.dataDir}, engine ${daemon.engine.name})\n`);
      if (daemon.ownerToken) {
        process.stdout.write(
          `\nOwner token (shown once, only its hash is stored):\n\n  ${daemon.ownerToken}\n\nberth login --url ${daemon.url} --token ${daemon.ownerToken}\n\n`,
        );
      }
      // The CLI on this machine (`berth status`, `berth up`...) finds this daemon through its data
      // dir; owner-only, like the data dir's other secrets, and outside any user's source tree.
      const credentialsFile = opts.credentialsFile ?? join(config.dataDir, "daemon.json");
      const existing = existsSync(credentialsFile) ? readCredentialsFile(credentialsFile) : undefined;
      const now = new Date().toISOString();
      const valid = existing && daemon.store.tokens.verify(existing.token, now);
      const token = valid ? existing.token : daemon.store.tokens.create({ name: `local-cli-${Date.now().toString(36)}`, role: "owner" }, now).token;
      writeFileSync(credentialsFile, `${JSON.stringify({ url: daemon.url, token, pid: process.pid }, null, 2)}\n`, { mode: 0o600 });
      chmodSync(credentialsFile, 0o600); // also when an older file had other permissions
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stdout.write(`${signal}: stopping (instances keep running and are adopted by the next start)\n`);
        await daemon.stop({ stopInstances: process.env.BERTH_STOP_INSTANCES === "1" });
        // The file names a process that is gone now (unless another daemon took it over).
        if (readCredentialsPid(credentialsFile) === process.pid) rmSync(credentialsFile, { force: true });
        process.exit(0);
      };
      process.on("SIGINT", () => void stop("SIGINT"));
      process.on("SIGTERM", () => void stop("SIGTERM"));
    });
}
