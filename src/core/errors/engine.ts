import { defineErrors } from "./spec.ts";

/** Errors of the engines (local processes, Swarm, memory fake). */
export const engineErrors = defineErrors({
  BERTH_ENGINE_ARTIFACT_UNSUPPORTED: {
    message: "the {engine} engine cannot run a '{kind}' artifact (release {release})",
    hint: "The local engine runs directory artifacts; rebuild the service for this engine.",
    http: 422,
    exit: 2,
  },
  BERTH_ENGINE_START_FAILED: {
    message: "could not start an instance of {service}: {detail}",
    hint: "Check that the release directory exists and the start command is right; `berth logs {service}` shows its output.",
    http: 500,
    exit: 1,
  },
  BERTH_ENGINE_NO_PORT: {
    message: "no free port left in {range} for {service}",
    hint: "Widen the engine's port range or run fewer listening instances.",
    http: 503,
    exit: 6,
  },
  BERTH_ENGINE_SANDBOX_FAILED: {
    message: "isolating {service} failed at {step}: {detail}",
    hint: "Running as root needs useradd, bubblewrap (bwrap) and a writable cgroup hierarchy; see docs/design/engine-local.md.",
    http: 500,
    exit: 1,
  },
  BERTH_ENGINE_STATE_FAILED: {
    message: "engine state at {path} failed: {detail}",
    hint: "Check the permissions and free space of the data directory.",
    http: 500,
    exit: 1,
  },
  BERTH_ENGINE_STOPPED: {
    message: "the {engine} engine is not running",
    hint: "Call start() before using the engine (the daemon does this at boot).",
    http: 503,
    exit: 6,
  },
  BERTH_SWARM_API_FAILED: {
    message: "Docker Engine API {method} {path} failed (HTTP {status}): {detail}",
    hint: "Check that dockerd runs, that its socket is the one configured for the swarm engine, and that this node is a swarm manager (`docker info`).",
    http: 502,
    exit: 1,
  },
  BERTH_SWARM_IMAGE_FAILED: {
    message: "could not make the image of release {release} of {service}: {detail}",
    hint: "The image is built from the release directory on top of a runtime image made from this host's binaries and pushed to Berth's registry; see docs/design/engine-swarm.md.",
    http: 500,
    exit: 1,
  },
  BERTH_ENGINE_UNAVAILABLE: {
    message: "{environment} asks for engine '{engine}' at {path} in {file}, but {detail}",
    hint: "Point the daemon at a swarm manager: BERTH_DOCKER_HOST=unix:///var/run/docker.sock (the socket of a node where `docker swarm init` ran) and restart `berth server`; or set {path} to `local` in the blueprint to run this environment on the daemon's machine.",
    http: 422,
    exit: 2,
  },
  BERTH_NODES_UNAVAILABLE: {
    message: "this daemon manages no cluster: {detail}",
    hint: "Nodes belong to a Docker Swarm: start `berth server` with BERTH_DOCKER_HOST=unix:///var/run/docker.sock (the socket of a swarm manager).",
    http: 409,
    exit: 2,
  },
  BERTH_NODE_UNKNOWN: {
    message: "no node '{node}': {detail} (nodes: {known})",
    hint: "Name a node by its hostname or id as `berth node list` shows them.",
    http: 404,
    exit: 2,
  },
  BERTH_NODE_NOT_DOWN: {
    message: "node '{node}' is {state}: only a node that is down (or has left the swarm) is removed",
    hint: "Run `berth node drain {node}` so its tasks move, stop its dockerd (or have it leave the swarm), then `berth node remove {node}`; `berth node remove {node} --force` removes it while it runs.",
    http: 409,
    exit: 2,
  },
  BERTH_SWARM_ENV_INVALID: {
    message: "variable name '{name}' of {service} cannot be passed to a Swarm task",
    hint: "Swarm tasks read their variables from a secret sourced by a POSIX shell: names must match [A-Za-z_][A-Za-z0-9_]*.",
    http: 422,
    exit: 2,
  },
});
