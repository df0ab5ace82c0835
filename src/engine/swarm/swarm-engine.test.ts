/**
 * The shared engine contract against a real dockerd in swarm mode, started by this file in its
 * own namespaces (testing/test-swarm.ts) and torn down at the end.
 */
import { after } from "node:test";
import { runEngineContract } from "../contract/engine-contract.ts";
import { canRunTestSwarm } from "./testing/test-swarm.ts";
import { stopTestSwarm, swarmFixture } from "./testing/swarm-fixture.ts";

const cannot = canRunTestSwarm();
if (cannot) throw new Error(`the swarm engine tests cannot run here: ${cannot}`);
after(() => stopTestSwarm());
runEngineContract("swarm", swarmFixture);
