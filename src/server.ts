/**
 * The composition root: the only place that wires implementations together. `startDaemon`
 * builds the store, event bus, secrets, engine, deploy pipeline, reconciler and HTTP API from a
 * resolved config, and returns a handle whose `stop()` undoes it all in reverse order.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { buildApi } from "./api/app.ts";
import { DirBuilder } from "./build/dir-builder.ts";
import { buildEnvAllowlist, hostBuildEnv, hostNpmGlobalConfig } from "./build/build-env.ts";
import { BuildSandbox } from "./build/sandbox.ts"; // security (issue 17)
import { detectCgroups } from "./sandbox/isolation.ts"; // security (issue 17)
import { LoopbackPolicy, loopbackPortsIn, tableName } from "./sandbox/loopback-policy.ts"; // security (issue 17)
import { createHash } from "node:crypto";
import { GitSources } from "./build/git-source.ts"; // git (issue 5)
import { sweepUnfinished } from "./build/leftovers.ts"; // issue 15
import { capture } from "./build/toolchains/capture.ts";
import { ToolCache } from "./build/toolchains/tool-cache.ts";
import { type Clock, systemClock } from "./core/clock.ts";
import type { BerthConfig } from "./core/config.ts";
import { BerthError } from "./core/errors.ts";
import { storeTaskResolver } from "./cron/resolve-task.ts"; // cron (issue 8)
import { CronScheduler } from "./cron/scheduler.ts"; // cron (issue 8)
import { httpHealthGate } from "./deploy/health-gate.ts";
import { buildDigest, type ReleaseInputs } from "./deploy/inputs.ts";
import { DeployPipeline } from "./deploy/pipeline.ts";
import type { Builder, EnvSealer } from "./deploy/ports.ts";
import { makeSealer } from "./deploy/sealer.ts";
import type { Engine, HealthGate, TrafficPort } from "./engine/engine.ts";
import { noTraffic } from "./engine/engine.ts";
import { LocalEngine } from "./engine/local/local-engine.ts";
import { MemoryEngine } from "./engine/memory/memory-engine.ts";
import { PerEnvironmentEngine } from "./engine/per-environment.ts";
import { SwarmHost } from "./engine/swarm/swarm-host.ts";
import { SwarmNodes } from "./engine/swarm/nodes.ts";
import { DockerApi } from "./engine/swarm/docker-api.ts";
import { EventBus } from "./observe/event-bus.ts";
import { createObservability, type Observability } from "./observe/setup.ts"; // observability (issue 18)
import { redisQueueLength } from "./observe/autoscale/queue-depth.ts"; // issue 18
import { runningEnvironments } from "./observe/setup.ts"; // issue 18
import { probeDatastores } from "./reconcile/datastore-probe.ts"; // issue 18
import { Reconciler } from "./reconcile/reconciler.ts";
import { ResourceManager } from "./reconcile/resources.ts";
import { dbUpgradeOperation } from "./reconcile/db-upgrade.ts";
import { Routing } from "./reconcile/routing.ts";
import { Router } from "./router/router.ts";
import { type AcmeSettings, Certificates } from "./router/tls/certificates.ts";
import { envVersions, secretChangeHandler } from "./reconcile/env-version.ts";
import { storedKey } from "./reconcile/alert-secrets.ts";
import { makeSync } from "./reconcile/sync.ts";
import { GitDeployer } from "./reconcile/git-deploy.ts"; // git (issue 5)
import { ServedRepos } from "./reconcile/served-repos.ts"; // git (issue 5)
import { OperationRunner } from "./reconcile/operations.ts"; // operations (issue 15)
import { Approvals } from "./reconcile/approvals.ts"; // approval gates (issue 19)
import { Previews } from "./reconcile/previews.ts"; // preview environments (issue 19)
import { Promoter } from "./reconcile/promote.ts"; // promotion (issue 19)
import { Sleeper } from "./reconcile/sleep.ts"; // sleep when idle, wake on request (issue 19)
import { dataOperations } from "./reconcile/data-operations.ts";
import { GitRepository } from "./store/repositories/git.ts"; // git (issue 5)
import { InternalAddressRepository } from "./store/repositories/internal-addresses.ts"; // private networking (issue 22)
import type { NamedValue } from "./secrets/redact.ts";
import { envOpener } from "./secrets/seal.ts";
import { openSecrets, type Secrets } from "./secrets/setup.ts";
import { AuditRepository } from "./store/repositories/audit.ts";
import { ProjectPolicyRepository } from "./store/repositories/project-policies.ts"; // security (issue 17)
import { projectPolicy } from "./reconcile/project-policy.ts"; // security (issue 17)
import { EnvGroupRepository } from "./store/repositories/env-groups.ts";
import { SecretRepository } from "./store/repositories/secrets.ts";
import { openStore, type Store } from "./store/store.ts";

export const VERSION = "0.1.0";

const SRC = fileURLToPath(new URL(".", import.meta.url));
/** The dashboard build (issue 21): next to the compiled daemon in dist/, or dist/ of a source checkout. */
const DASHBOARD_DIR = import.meta.url.endsWith(".js") ? join(SRC, "dashboard") : join(SRC, "..", "dist", "dashboard");

export interface DaemonOptions {
  /** Replaces the engine (tests hand in a MemoryEngine they control). */
  readonly engine?: (deps: { bus: EventBus; openEnv: ReturnType<typeof envOpener>; redact: (text: string) => string; loopback: LoopbackPolicy | undefined }) => Engine;
  /** The loopback policy between projects; `false` turns it off. Default: on as root unless BERTH_LOOPBACK=off. */
  readonly loopback?: LoopbackPolicy | false;
  readonly builder?: Builder;
  readonly sealer?: EnvSealer;
  readonly traffic?: TrafficPort;
  /** Replaces the HTTP health gate (the memory engine's endpoints cannot be probed). */
  readonly health?: HealthGate;
  readonly clock?: Clock;
  /** Where the one-time owner token and warnings go. */
  readonly print?: (line: string) => void;
  readonly listen?: boolean;
  readonly logger?: boolean;
  /** Run builds in the sandbox (project user, bubblewrap, cgroup). Default: when running as root. */
  readonly sandboxBuilds?: boolean;
  /** Observability intervals (issue 18); tests shorten them. */
  readonly observe?: { readonly sampleIntervalMs?: number; readonly alertTickMs?: number; readonly drainRetryMs?: number; readonly autoscaleIntervalMs?: number; readonly datastoreIntervalMs?: number };
  /**
   * Whether managed database servers stop with the daemon. Default: they do when its instances do
   * (`stop({ stopInstances: true })`); otherwise they keep running and the next start adopts them.
   */
  readonly stopResources?: boolean;
}

export interface Daemon {
  readonly config: BerthConfig;
  readonly store: Store;
  readonly bus: EventBus;
  readonly engine: Engine;
  readonly reconciler: Reconciler;
  /** Git auto-deploy (issue 5): pushes to followed branches become syncs. */
  readonly git: GitDeployer;
  /** Preview environments per pull request (issue 19). */
  readonly previews: Previews;
  /** Carries out recorded operations (issue 15): git-push deploys, data operations. */
  readonly operations: OperationRunner;
  /** Runs cron jobs as engine tasks (issue 8). */
  readonly cron: CronScheduler;
  /** Metrics, alerts, drains, autoscaling (issue 18). */
  readonly observe: Observability;
  readonly api: FastifyInstance;
  readonly secrets: Secrets;
  /** `http://host:port` once listening. */
  readonly url: string;
  /** Set only on the first start, when the owner token was created. */
  readonly ownerToken: string | undefined;
  stop(options?: { stopInstances?: boolean }): Promise<void>;
}

/** The ACME side of the configuration, with its trusted CA read (undefined: ACME is off). */
function acmeSettings(acme: BerthConfig["acme"]): AcmeSettings | undefined {
  if (acme.kind === "off") return undefined;
  let trustedCaPem: string | undefined;
  if (acme.caFile) {
    try {
      trustedCaPem = readFileSync(acme.caFile, "utf8");
    } catch (e) {
      throw new BerthError("BERTH_CONFIG_INVALID", { field: "BERTH_ACME_CA_FILE", detail: `cannot read ${acme.caFile}: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
    }
  }
  return { directoryUrl: acme.directoryUrl, ...(acme.email ? { email: acme.email } : {}), ...(trustedCaPem ? { trustedCaPem } : {}) };
}

export async function startDaemon(config: BerthConfig, options: DaemonOptions = {}): Promise<Daemon> {
  const clock = options.clock ?? systemClock;
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  // 0711: database servers run as their own users and must traverse (not list) the data dir.
  mkdirSync(config.dataDir, { recursive: true, mode: 0o711 });
  chmodSync(config.dataDir, 0o711);
  const store = openStore(join(config.dataDir, "berth.db"));
  const cleanups: (() => Promise<void> | void)[] = [() => store.close()];
  try {
    const bus = new EventBus({ repo: store.events, clock });
    const secretRows = new SecretRepository(store.db);
    // secrets (issue 9): a change re-masks output and rolls the services it reaches (set below).
    let secretsChanged = (_projectId: string, _environment: string, _owner: string): void => {};
    const secrets = openSecrets({ rows: secretRows, groups: new EnvGroupRepository(store.db), kek: config.kek, events: bus, clock, onChange: (p, e, o) => secretsChanged(p.id, e, o) });
    for (const w of secrets.warnings) print(`warning: ${w}`);
    let sensitive: readonly NamedValue[] = [];
    let redactText = (text: string) => text;
    const refreshRedactor = () => {
      const redactor = secrets.store.redactor(sensitive);
      redactText = (text) => redactor.redact(text);
      bus.setRedactor(redactText);
    };
    refreshRedactor();

    const openEnv = envOpener(secrets.keyring, (name) => store.projects.byName(name)?.id);
    // security (issue 17): projects' users may reach only their own ports and grants on loopback.
    const loopback =
      options.loopback !== undefined
        ? options.loopback || undefined
        : process.getuid?.() === 0 && config.loopback !== "off"
          ? new LoopbackPolicy({
              table: tableName(createHash("sha256").update(config.dataDir).digest("hex").slice(0, 12)),
              mode: config.loopback === "strict" ? "strict" : "guarded",
              publicPorts: config.router.enabled ? [config.router.httpPort, config.router.httpsPort] : [],
              events: bus,
            })
          : undefined;
    let removeLoopback = false;
    cleanups.push(() => (removeLoopback ? loopback?.remove() : undefined));
    const defaultEngine = options.engine
      ? options.engine({ bus, openEnv, redact: (text) => redactText(text), loopback })
      : config.engine === "memory"
        ? new MemoryEngine({ events: bus, openEnv: (r) => openEnv(r) })
        : new LocalEngine({ stateDir: join(config.dataDir, "engine"), events: bus, openEnv: (r) => openEnv(r), redact: (text) => redactText(text), logRetentionMs: config.logRetentionMs, ...(loopback ? { loopback } : {}) });
    // Docker Swarm (issue 20): environments whose blueprint says `engine: swarm` run there; the
    // engine (and Berth's registry) start on first use, or now when such an environment exists.
    const swarmHost = config.swarm
      ? new SwarmHost({ dockerSocket: config.swarm.dockerSocket, registry: config.swarm.registry, dataDir: config.dataDir, events: bus, openEnv: (r) => openEnv(r), redact: (text) => redactText(text) })
      : undefined;
    const swarmMissing = "this daemon has no swarm manager configured (BERTH_DOCKER_HOST is unset)";
    // An engine a test hands in is the daemon's only one (tests drive it directly).
    const engine: Engine = options.engine ? defaultEngine : new PerEnvironmentEngine({
      local: defaultEngine,
      others: swarmHost ? { swarm: swarmHost } : {},
      kindOf: (env) => store.environments.engineOf(env.project, env.environment),
      missing: (kind, env) => new BerthError("BERTH_ENGINE_UNAVAILABLE", { environment: `${env.project}/${env.environment}`, engine: kind, path: "engine", file: "berth.yaml", detail: swarmMissing }),
    });
    const engineProblem = async (kind: string): Promise<string | undefined> => (kind === "local" ? undefined : swarmHost ? swarmHost.problem() : swarmMissing);
    await engine.start();
    cleanups.push(() => engine.stop({ stopInstances: false }));
    if (swarmHost && store.environments.countByEngine("swarm") > 0) {
      const problem = await swarmHost.problem();
      if (problem) bus.emit({ type: "engine:warning", actor: "system", data: { message: `swarm environments cannot run: ${problem}` } });
    }
    // observability (issue 18): metrics from the router and the engine, alerts, drains, autoscaling.
    // Alert channel and log drain credentials are read from the secret store when sent (issue 18).
    const alertSecret = (scope: { project: string; environment: string }, group: string, key: string): string | undefined => {
      const project = store.projects.byName(scope.project);
      return project ? secrets.store.read({ project, environment: scope.environment, owner: `group:${group}`, name: key }) : undefined;
    };
    const observeOptions: Parameters<typeof createObservability>[0] = { store, bus, engine, clock, secret: alertSecret, ...options.observe };
    const observe = createObservability(observeOptions);

    // security (issue 17): builds run sandboxed as the project's user whenever Berth runs as root.
    const nodeHome = dirname(dirname(process.execPath));
    const buildSandbox = new BuildSandbox({
      cacheRoot: join(config.dataDir, "cache"),
      readOnlyPaths: nodeHome.startsWith("/usr/") ? [] : [nodeHome],
      sandboxed: options.sandboxBuilds ?? process.getuid?.() === 0,
      cgroups: detectCgroups(),
      ...(loopback ? { loopback } : {}),
    });
    const dirBuilder = new DirBuilder({ artifactsDir: join(config.dataDir, "artifacts"), cacheDir: join(config.dataDir, "cache"), sandbox: buildSandbox });
    const gitSources = new GitSources({ cacheDir: join(config.dataDir, "cache", "git") }); // git (issue 5)
    // Issue 15: half-written build and checkout dirs of a killed daemon, and the build processes
    // still working in them, go before anything is built again.
    const leftovers = await sweepUnfinished([...dirBuilder.unfinishedParents(), join(config.dataDir, "cache", "git", "checkouts")]);
    if (leftovers.dirs.length > 0) bus.emit({ type: "daemon:leftovers-removed", data: { dirs: leftovers.dirs, pids: leftovers.pids } });
    // Builds see the host's trust and proxy settings (allowlisted), never the rest of the daemon's
    // environment; HOME and their npm cache are the project's own, set by the build sandbox
    // (docs/design/build-env.md).
    const npmGlobalConfig = hostNpmGlobalConfig(process.env, existsSync);
    const buildEnv = Object.freeze({
      ...hostBuildEnv(process.env, buildEnvAllowlist(config.buildEnv)),
      LANG: process.env.LANG ?? "C.UTF-8",
      CI: "true",
      ...(npmGlobalConfig ? { npm_config_globalconfig: npmGlobalConfig } : {}),
    });
    const builder: Builder = options.builder ?? {
      build: async ({ service, signal, onLog }) => {
        const inputs = service.inputs as ReleaseInputs;
        // git (issue 5): a git source builds from the checkout of its commit (cached by sha).
        const root = inputs.source.kind === "dir" ? inputs.source.path : await gitSources.checkoutSource(inputs.source);
        return dirBuilder.build({
          inputs,
          digest: buildDigest(inputs),
          project: service.spec.ref.project,
          service: service.name,
          sourceRoot: root,
          rootDir: inputs.rootDir,
          // HOME and caches are set by the build sandbox (per project); trust settings pass through.
          env: buildEnv,
          signal,
          onLog,
        });
      },
    };
    const addSensitive = (values: readonly NamedValue[]) => {
      sensitive = [...sensitive.filter((v) => !values.some((n) => n.name === v.name)), ...values];
      refreshRedactor();
    };
    // Managed Postgres/Redis per environment (issue 7), provisioned before releases are cut.
    // PostgreSQL majors the distribution lacks come from the npm registry into the same tool cache
    // builds use, installed with the builds' trust settings and npm cache (issue 14).
    const tools = new ToolCache(join(config.dataDir, "cache", "toolchains"));
    const postgresTools = {
      has: (id: string) => tools.has(id),
      dir: (id: string) => tools.dir(id),
      ensure: (id: string, packages: readonly string[], prepare: (dir: string) => void) =>
        tools.ensure(id, packages, async (argv) => void (await capture(argv, { env: buildEnv, timeoutMs: 10 * 60_000, signal: AbortSignal.timeout(10 * 60_000) })), prepare),
    };
    const resources = new ResourceManager({ dataDir: config.dataDir, store, secrets, events: bus, onSensitive: addSensitive, postgresTools });
    // Databases live like instances: a daemon restart leaves them running (adopted next start).
    let stopAll = false;
    cleanups.push(() => ((options.stopResources ?? stopAll) ? resources.stop() : resources.detach()));
    // Backups, WAL archive checks, pruning and restore drills run on this beat.
    // A failing tick must never take the daemon down (an unhandled rejection would): its
    // failures are reported by the providers, and the next beat tries again.
    const dataBeat = setInterval(() => void resources.tick().catch((e: unknown) => print(`warning: data beat: ${e instanceof Error ? e.message : String(e)}`)), 60_000);
    dataBeat.unref();
    cleanups.push(() => clearInterval(dataBeat));
    const sealer =
      options.sealer ??
      makeSealer({
        store,
        secrets,
        resources: async (env) => {
          const values = await resources.values(env);
          // security (issue 17): the data stores a release is given are what its project may reach.
          await loopback?.grant(env.project, env.name, loopbackPortsIn(values)).catch(() => {});
          return { ...values, services: routing?.serviceValues(env.project, env.name, store.services.list(env.id).map((s) => s.name)) ?? {} };
        },
        onSensitive: addSensitive,
      });
    // Issue 19: services that sleep when idle; the router's waker wakes them (bound below, once
    // the reconciler exists). Desired state only: the reconciler stops and starts instances.
    let sleeper: Sleeper | undefined;
    // The HAProxy data plane (issue 6): started, supervised and stopped by the daemon.
    let routing: Routing | undefined;
    if (config.router.enabled && !options.traffic) {
      const acme = acmeSettings(config.acme); // a CA file that cannot be read stops the start before anything listens
      const router = new Router({
        stateDir: join(config.dataDir, "router"),
        bindHost: config.router.bindHost,
        httpPort: config.router.httpPort,
        // BERTH_HTTPS_PORT (issue 15: it was ignored); 0 turns the HTTPS listener off.
        ...(config.router.httpsPort > 0 ? { httpsPort: config.router.httpsPort } : {}),
        events: bus,
        onRequest: (sample) => {
          observe.onRequest(sample); // issue 18
          sleeper?.noteRequest(sample.backend); // issue 19
        },
        wake: async (backend, signal) => sleeper?.wake(backend, signal), // issue 19
        timeouts: { connectMs: config.router.connectTimeoutMs },
      });
      await router.start();
      cleanups.push(() => router.stop({ graceful: true }));
      // TLS: the HTTPS listener's hosts get certificates after each route change and hourly.
      const certificates =
        router.options.httpsPort !== undefined
          ? new Certificates({ router, ...(acme ? { acme } : {}), clock, events: bus, onError: (e) => print(`warning: certificates: ${e instanceof Error ? e.message : String(e)}`) })
          : undefined;
      if (certificates) {
        await certificates.start();
        cleanups.push(() => certificates.stop()); // before the router stops (cleanups run in reverse)
      }
      // Private networking (issue 22): internal addresses, the engine's names, the policy's grants.
      routing = new Routing({
        router,
        store,
        baseDomain: config.baseDomain,
        httpPort: config.router.httpPort,
        events: bus,
        ...(certificates ? { certificates } : {}),
        network: {
          addresses: new InternalAddressRepository(store.db),
          setNetwork: (n) => engine.setNetwork(n),
          ...(loopback ? { setInternalAddresses: (byProject) => loopback.setInternalAddresses(byProject) } : {}),
        },
      });
    }
    const pipeline = new DeployPipeline({
      store,
      engine,
      events: bus,
      clock,
      builder: {
        build: async (req) => {
          const artifact = await builder.build(req);
          refreshRedactor(); // generated secrets may have appeared
          return artifact;
        },
      },
      sealer,
      health: options.health ?? httpHealthGate,
      traffic: options.traffic ?? routing?.traffic ?? noTraffic,
    });
    const reconciler = new Reconciler({
      store,
      engine,
      pipeline,
      resources,
      ...(routing ? { routing } : {}),
      events: bus,
      clock,
      retryMs: config.reconcileRetryMs,
      retryMaxMs: config.reconcileRetryMaxMs,
      resyncIntervalMs: config.resyncIntervalMs,
    });
    sleeper = new Sleeper({ store, engine, events: bus, clock, requestReconcile: (id) => reconciler.request(id), checkIntervalMs: config.sleepCheckMs });
    // cron (issue 8): each slot runs as an engine task against the service's current release.
    const cron = new CronScheduler({ db: store.db, clock, runner: (spec, signal) => engine.runTask(spec, signal), resolveTask: storeTaskResolver(store.db), events: bus });
    // A sync may have changed the cron jobs (sync.ts records them): the scheduler re-plans at once.
    const requestReconcile = (id: string) => {
      reconciler.request(id);
      cron.wake();
    };
    // issue 18: the autoscaler records replica counts and asks for reconciles; queues are read from the environment's Redis.
    observeOptions.requestReconcile = (id) => reconciler.request(id);
    observeOptions.probeDatastores = () => probeDatastores(runningEnvironments(store), resources, clock.now());
    observeOptions.queueLength = async (env, kv, key) => {
      const { redis } = await resources.providers(env);
      return redisQueueLength(await redis.connection(kv, resources.password(env, "kv", kv) ?? ""), key);
    };
    const policies = new ProjectPolicyRepository(store.db); // security (issue 17)
    const sync = makeSync({
      store,
      policy: projectPolicy(policies, config),
      events: bus,
      clock,
      staticServer: [process.execPath, join(SRC, "router", "static", `serve${import.meta.url.endsWith(".js") ? ".js" : ".ts"}`)],
      requestReconcile,
      envVersion: (project, environment, bp) => envVersions(secretRows, store.projects.byName(project)?.id, environment, bp),
      secretNames: (projectId, environment) => new Set(secretRows.listValues(projectId, { environments: [environment, "*"] }).map((r) => storedKey(r.owner, r.name))),
      maxServicesPerProject: config.maxServicesPerProject,
      postgresMajor: (project, environment) => resources.postgresMajor(project, environment),
      engineProblem,
    });
    // operations (issue 15): recorded intent, carried out one at a time per key; handlers register here.
    const operations = new OperationRunner({ repo: store.operations, events: bus, clock });
    // git (issue 5): pushes to followed branches (served repositories, the webhook) become syncs.
    const gitDeployer = new GitDeployer({ store, rows: new GitRepository(store.db), sources: gitSources, sync, events: bus, clock, operations });
    operations.register(gitDeployer.operation());
    // Data work (issue 16): backups, restores, drills, recovery, upkeep and provisioning are operations.
    for (const handler of dataOperations({ store, resources })) operations.register(handler);
    resources.useOperations(operations);
    operations.register(dbUpgradeOperation({ store, resources })); // berth db upgrade (issue 14)
    // Environments as a workflow (issue 19): held deploys decided by owners, promotion between environments.
    const workflow = {
      approvals: new Approvals({ store, sync, events: bus, clock, replayPush: (origin) => gitDeployer.replay(origin) }),
      promoter: new Promoter({ store, sync, events: bus, clock, checkout: (source) => gitSources.checkoutSource(source) }),
    };
    // Preview environments per pull request (issue 19): webhook, served branches, expiry.
    const previews = new Previews({ store, sources: gitSources, sync, resources, secrets: secrets.store, events: bus, clock, operations, requestReconcile, urls: (ref) => routing?.urls(ref) ?? [], removeCertificates: async (p, e) => (routing ? routing.removeEnvironmentCertificates(p, e) : []) });
    operations.register(previews.operation());
    gitDeployer.usePreviews(previews);
    const servedRepos = new ServedRepos({ dir: join(config.dataDir, "git"), deployer: gitDeployer });
    secretsChanged = secretChangeHandler({ store, rows: secretRows, clock, refreshRedactor, requestReconcile });

    let ownerToken: string | undefined;
    if (store.tokens.count() === 0) {
      ownerToken = store.tokens.create({ name: "owner", role: "owner" }, new Date(clock.now()).toISOString()).token;
      bus.emit({ type: "token:created", data: { name: "owner", role: "owner" } });
    }

    const api = await buildApi({ store, bus, engine, clock, version: VERSION, sync, requestReconcile, urls: (ref) => routing?.urls(ref) ?? [], cron, secrets, audit: new AuditRepository(store.db), policies, resources, redact: (text) => redactText(text), git: { deployer: gitDeployer, served: servedRepos }, previews, operations, observe, workflow, dashboardDir: DASHBOARD_DIR, ...(config.swarm ? { nodes: new SwarmNodes({ docker: new DockerApi(config.swarm.dockerSocket) }) } : {}), logger: options.logger ?? false });
    cleanups.push(() => api.close());
    let url = "";
    if (options.listen !== false) {
      const address = await api.listen({ host: config.listen.host, port: config.listen.port });
      url = address;
      await loopback?.setDaemonPorts([new URL(address).port ? Number(new URL(address).port) : 80]).catch(() => {});
    }
    reconciler.start();
    cleanups.push(() => reconciler.stop());
    // Level truth (issue 15): an instance that starts crash-looping (or recovers) between
    // reconciles re-states its environment's status.
    const offInstances = bus.subscribe((e) => {
      if (e.type.startsWith("instance:")) reconciler.instanceChanged(e.scope);
    });
    cleanups.push(() => offInstances());
    // After the reconciler, stopped before it: resumes (or fails cleanly) what a killed daemon left.
    await operations.start();
    cleanups.push(() => operations.stop());
    previews.start(); // issue 19: the expiry beat
    cleanups.push(() => previews.stop());
    sleeper.start(); // issue 19: idle services go to sleep
    cleanups.push(() => sleeper?.stop());
    servedRepos.start(); // git (issue 5): after the operations, stopped before them
    cleanups.push(() => servedRepos.stop());
    cron.start(); // after the reconciler, stopped before it (cleanups run in reverse)
    cleanups.push(() => cron.stop());
    observe.start(); // issue 18
    cleanups.push(() => observe.stop());
    bus.emit({ type: "daemon:started", data: { version: VERSION, listen: url, dataDir: config.dataDir } });

    let stopped = false;
    return {
      config,
      store,
      bus,
      engine,
      reconciler,
      git: gitDeployer,
      previews,
      operations,
      cron,
      observe,
      api,
      secrets,
      url,
      ownerToken,
      async stop(stopOptions = {}) {
        if (stopped) return;
        stopped = true;
        bus.emit({ type: "daemon:stopping", data: { reason: "stop requested" } });
        stopAll = stopOptions.stopInstances === true;
        removeLoopback = !!stopOptions.stopInstances;
        if (stopOptions.stopInstances) {
          for (const env of store.environments.list()) {
            for (const s of await engine.actual({ project: env.project, environment: env.name })) {
              await engine.remove(s.ref, AbortSignal.timeout(60_000));
            }
          }
        }
        for (const c of cleanups.reverse()) await c();
      },
    };
  } catch (e) {
    for (const c of cleanups.reverse()) await c();
    throw e;
  }
}
