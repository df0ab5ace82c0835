import assert from "node:assert/strict";
import { test } from "node:test";
import { decide, type HeldDeploy, mayDecide, needsApproval, supersededBy } from "./approval.ts";

const held = (over: Partial<HeldDeploy> = {}): HeldDeploy => ({ id: "pdep_1", project: "shop", environment: "production", state: "pending", supersededBy: null, decidedBy: null, ...over });
const owner = { name: "alice", role: "owner" as const, projects: [] };

test("an environment holds a deploy when the recorded or the incoming blueprint requires approval", () => {
  assert.equal(needsApproval(undefined, { approvalRequired: false }), false);
  assert.equal(needsApproval(undefined, { approvalRequired: true }), true, "a first deploy to a gated environment is held");
  assert.equal(needsApproval({ approvalRequired: true }, { approvalRequired: false }), true, "a push cannot lift its own gate");
  assert.equal(needsApproval({ approvalRequired: false }, { approvalRequired: true }), true, "a push adding the gate is held");
  assert.equal(needsApproval({ approvalRequired: false }, { approvalRequired: false }), false);
});

test("only owners decide: viewers and deployers are refused with the role they would need", () => {
  for (const role of ["viewer", "deployer"] as const) {
    for (const action of ["approve", "reject"] as const) {
      const v = mayDecide({ name: "ci", role, projects: [] }, action);
      assert.equal(v.ok, false);
      if (!v.ok) {
        assert.equal(v.code, "BERTH_FORBIDDEN");
        assert.equal(v.params.required, "owner");
        assert.match(String(v.params.action), new RegExp(`^${action} deploys held for approval`));
      }
    }
  }
  assert.deepEqual(mayDecide(owner, "approve"), { ok: true });
  assert.deepEqual(decide(owner, held(), "approve"), { ok: true });
  assert.deepEqual(decide({ ...owner, projects: ["shop"] }, held(), "reject"), { ok: true }, "an owner scoped to the project decides it");
});

test("an owner scoped to another project does not learn the deploy exists", () => {
  const v = decide({ ...owner, projects: ["blog"] }, held(), "approve");
  assert.equal(v.ok, false);
  if (!v.ok) assert.deepEqual([v.code, v.params], ["BERTH_NOT_FOUND", { kind: "pending deploy", name: "pdep_1" }]);
});

test("decided and superseded deploys cannot be decided again; a superseded one points at the newer one", () => {
  const sup = decide(owner, held({ state: "superseded", supersededBy: "pdep_2" }), "approve");
  assert.equal(sup.ok, false);
  if (!sup.ok) {
    assert.equal(sup.code, "BERTH_DEPLOY_NOT_PENDING");
    assert.equal(sup.params.detail, "superseded by pdep_2");
    assert.match(String(sup.params.next), /berth approve pdep_2/);
  }
  const done = decide(owner, held({ state: "approved", decidedBy: "bob" }), "reject");
  assert.equal(done.ok, false);
  if (!done.ok) assert.equal(done.params.detail, "already approved by bob");
});

test("a new held deploy supersedes exactly the pending ones of the same environment", () => {
  const rows = [
    held({ id: "a" }),
    held({ id: "b", state: "approved" }),
    held({ id: "c", environment: "staging" }),
    held({ id: "d", project: "blog" }),
    held({ id: "e" }),
    held({ id: "f", state: "superseded" }),
  ];
  assert.deepEqual(supersededBy(rows, { project: "shop", environment: "production" }), ["a", "e"]);
  assert.deepEqual(supersededBy([], { project: "shop", environment: "production" }), []);
});
