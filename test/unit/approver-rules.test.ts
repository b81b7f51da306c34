// Who may decide on a team server's approval page: the requester alone by default, another person
// carrying the approver claim with the four-eyes rule; cancelling is open to the requester.
import { describe, expect, it } from "vitest";
import { carriesClaim, decisionRefusal } from "../../src/auth/approver-signin.js";

const ISSUER = "https://login.example.test";
const alice = { subject: "alice", issuer: ISSUER, name: "Alice" };
const bob = { subject: "bob", issuer: ISSUER, name: "Bob" };
const approvers = { groups: ["staff", "vcc-approvers"] };
const claim = { name: "groups", value: "vcc-approvers" };

describe("decisionRefusal", () => {
  it("without four eyes: the requester decides; others only with the configured claim", () => {
    const rules = { separateApprover: false };
    expect(decisionRefusal(rules, { requester: alice, approver: { ...alice, name: "A." }, claims: {} }, "approve")).toBeUndefined();
    expect(decisionRefusal(rules, { requester: alice, approver: bob, claims: approvers }, "approve")).toMatch(/only the person who asked/);
    expect(
      decisionRefusal({ ...rules, approverClaim: claim }, { requester: alice, approver: bob, claims: approvers }, "approve"),
    ).toBeUndefined();
    // The same subject at another issuer is another person.
    expect(
      decisionRefusal(rules, { requester: alice, approver: { ...alice, issuer: "https://other.test" }, claims: {} }, "approve"),
    ).toBeDefined();
  });
  it("four eyes: never the requester, only someone else with the claim; the requester may still cancel", () => {
    const rules = { separateApprover: true, approverClaim: claim };
    expect(decisionRefusal(rules, { requester: alice, approver: alice, claims: approvers }, "approve")).toMatch(/four-eyes/);
    expect(decisionRefusal(rules, { requester: alice, approver: bob, claims: { groups: ["staff"] } }, "approve")).toMatch(/vcc-approvers/);
    expect(decisionRefusal(rules, { requester: alice, approver: bob, claims: approvers }, "approve")).toBeUndefined();
    expect(decisionRefusal(rules, { requester: alice, approver: alice, claims: {} }, "reject")).toBeUndefined();
    expect(decisionRefusal(rules, { requester: alice, approver: bob, claims: {} }, "reject")).toBeDefined();
  });
  it("claims may be lists or space-separated strings", () => {
    expect(carriesClaim({ roles: "VCC.Approver Reader" }, "roles", "VCC.Approver")).toBe(true);
    expect(carriesClaim({ groups: ["vcc-approvers-not"] }, "groups", "vcc-approvers")).toBe(false);
    expect(carriesClaim({}, "groups", "vcc-approvers")).toBe(false);
  });
});
